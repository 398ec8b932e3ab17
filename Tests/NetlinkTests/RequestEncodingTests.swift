import Testing

@testable import Netlink

@Suite("Request encoding")
struct RequestEncodingTests {
    /// What `ip route show table all` sends for IPv4, as strace shows it: a 28-byte
    /// RTM_GETROUTE dump request with an all-zero rtmsg but for the family.
    @Test func routeDumpRequestBytes() {
        let bytes = NetlinkRequest.dumpRoutes(family: .inet).finish(sequence: 7)
        #expect(bytes.count == 28)
        let expected: [UInt8] = [
            28, 0, 0, 0,  // nlmsg_len
            26, 0,  // RTM_GETROUTE
            0x01, 0x03,  // NLM_F_REQUEST | NLM_F_DUMP
            7, 0, 0, 0,  // sequence
            0, 0, 0, 0,  // port id: the kernel fills it in
            2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // rtmsg: AF_INET
        ]
        #expect(bytes == expected)
        #expect(NetlinkRequest.dumpRoutes().isDump)
    }

    @Test func linkDumpHasAnIfinfomsg() {
        let bytes = NetlinkRequest.dumpLinks().finish(sequence: 1)
        #expect(bytes.count == 16 + 16)
        #expect(bytes[4] == 18)  // RTM_GETLINK
    }

    @Test func attributesArePaddedToFourBytes() {
        var request = NetlinkRequest(type: 24, flags: [.request, .ack], familyHeader: [2, 24, 0, 0, 254, 196, 0, 1, 0, 0, 0, 0])
        request.addAttribute(1, [10, 5, 2])
        request.addAttribute(15, host: UInt32(254))
        let bytes = request.finish(sequence: 1)
        #expect(bytes.count == 16 + 12 + 8 + 8)
        #expect(bytes[28] == 7 && bytes[29] == 0)  // nla_len counts the unpadded payload
        #expect(bytes[35] == 0)  // padding
        // And it decodes back to what was encoded.
        let event = bytes.withUnsafeBytes { raw -> RtnetlinkEvent? in
            var iterator = MessageIterator(raw)
            guard let message = try? iterator.next() else { return nil }
            return try? RtnetlinkEvent(message)
        }
        #expect(event == nil, "a 3-byte IPv4 destination is refused on decode")
    }

    /// What `ss -ti state established` sends for IPv4: SOCK_DIAG_BY_FAMILY with a 56-byte
    /// `inet_diag_req_v2` asking for TCP, `INET_DIAG_INFO` and `TCPF_ESTABLISHED`.
    @Test func tcpSocketDumpRequestBytes() {
        let bytes = NetlinkRequest.dumpTCPSockets(family: .inet6).finish(sequence: 9)
        #expect(bytes.count == 16 + 56)
        #expect(Array(bytes[0..<8]) == [72, 0, 0, 0, 20, 0, 0x01, 0x03])  // len, SOCK_DIAG_BY_FAMILY, REQUEST|DUMP
        #expect(Array(bytes[16..<24]) == [10, 6, 0x02, 0, 0x02, 0, 0, 0])  // AF_INET6, TCP, 1<<(INFO-1), states
        #expect(bytes[24...].allSatisfy { $0 == 0 })  // inet_diag_sockid: every socket
        let states = NetlinkRequest.dumpTCPSockets(family: .inet, states: [.established, .closeWait]).finish(sequence: 1)
        #expect(Array(bytes[20..<24]) != Array(states[20..<24]))
        #expect(states[20] == 0x02 | 0x00 && states[21] == 0x01)  // bits 1 and 8
    }

    /// The one-walk dump: `TCPDIAG_GETSOCK` with a 60-byte `inet_diag_req`, family AF_UNSPEC.
    @Test func everyFamilyTCPSocketDumpRequestBytes() {
        let bytes = NetlinkRequest.dumpTCPSocketsOfEveryFamily().finish(sequence: 3)
        #expect(bytes.count == 16 + 60)
        #expect(Array(bytes[0..<8]) == [76, 0, 0, 0, 18, 0, 0x01, 0x03])  // len, TCPDIAG_GETSOCK, REQUEST|DUMP
        #expect(Array(bytes[16..<20]) == [0, 0, 0, 0x02])  // AF_UNSPEC, no lengths, 1<<(INFO-1)
        #expect(bytes[20..<68].allSatisfy { $0 == 0 })  // inet_diag_sockid: every socket
        #expect(Array(bytes[68..<76]) == [0x02, 0, 0, 0, 0, 0, 0, 0])  // TCPF_ESTABLISHED, idiag_dbs
    }
}
