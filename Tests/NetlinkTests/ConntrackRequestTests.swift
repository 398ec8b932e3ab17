import Netlink
import Testing

@Suite struct ConntrackRequestTests {
    /// `nlmsghdr` in host (little-endian) order, then `nfgenmsg`.
    @Test func tableDumpBothFamilies() {
        #expect(
            NetlinkRequest.dumpConntrack().finish(sequence: 7) == [
                20, 0, 0, 0,  // nlmsg_len
                0x01, 0x01,  // NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_GET
                0x01, 0x03,  // NLM_F_REQUEST | NLM_F_DUMP
                7, 0, 0, 0,  // sequence
                0, 0, 0, 0,  // port id: the kernel fills it in
                0, 0, 0, 0,  // AF_UNSPEC, NFNETLINK_V0, res_id 0
            ])
        #expect(NetlinkRequest.dumpConntrack().isDump)
    }

    @Test func tableDumpOneFamily() {
        let bytes = NetlinkRequest.dumpConntrack(family: .inet6).finish(sequence: 1)
        #expect(Array(bytes[16...]) == [10, 0, 0, 0])
    }

    @Test func perCPUStatisticsIsADump() {
        #expect(
            NetlinkRequest.conntrackCPUStatistics().finish(sequence: 0x0102_0304) == [
                20, 0, 0, 0, 0x04, 0x01, 0x01, 0x03, 4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0,
            ])
    }

    @Test func globalStatisticsIsASingleRequest() {
        let request = NetlinkRequest.conntrackGlobalStatistics()
        // NLM_F_REQUEST | NLM_F_ACK: the kernel's reply says NLM_F_MULTI but no NLMSG_DONE follows.
        #expect(request.finish(sequence: 9) == [20, 0, 0, 0, 0x05, 0x01, 0x05, 0x00, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(!request.isDump)
    }

    @Test func groupsAreTheKernelNumbers() {
        #expect(ConntrackGroup.allEvents.map(\.rawValue) == [1, 2, 3])
    }

    @Test func nfgenmsgResourceIDIsBigEndian() {
        #expect(NetfilterGenericHeader(family: .inet, resourceID: 0x0102).bytes == [2, 0, 1, 2])
    }
}
