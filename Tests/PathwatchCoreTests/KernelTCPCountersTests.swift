import Testing

@testable import PathwatchCore

@Suite("Kernel TCP counters (/proc/net/snmp, /proc/net/netstat)")
struct KernelTCPCountersTests {
    @Test func theRecordedFilesParse() {
        let counters = KernelTCPCounters(snmp: RecordedProcNet.snmp, netstat: RecordedProcNet.netstat)
        #expect(counters.retransmittedSegments == 1)
        #expect(counters.lostRetransmits == 0)
        #expect(counters.sackRecoveryFailures == 0)
        #expect(counters.synRetransmits == 0)
        #expect(counters.inNoRoutes == 0)
        #expect(counters.outNoRoutes == 0)
        #expect(counters.named.count == 9)
        #expect(counters.dsackOldSent != nil)
        #expect(counters.outOfOrderQueued != nil)
        let table = ProcNetTable.parse(RecordedProcNet.snmp)
        #expect(table["Tcp"]?["MaxConn"] == -1)  // negative values are values, not headers
        #expect(table["Tcp"]?["RtoMax"] == 120_000)
        #expect(table["IcmpMsg"]?["InType3"] != nil)
    }

    /// The incident's `netstat -s` numbers, in the files' own format.
    @Test func theIncidentsCounters() {
        let snmp = """
            Ip: Forwarding DefaultTTL OutNoRoutes
            Ip: 1 64 61
            Tcp: RtoAlgorithm RetransSegs
            Tcp: 1 444
            """
        let netstat = """
            TcpExt: TCPLostRetransmit TCPSackRecoveryFail TCPSynRetrans
            TcpExt: 215 35 3
            IpExt: InNoRoutes InOctets
            IpExt: 0 123
            """
        let counters = KernelTCPCounters(snmp: snmp, netstat: netstat)
        #expect(counters.retransmittedSegments == 444)
        #expect(counters.lostRetransmits == 215)
        #expect(counters.sackRecoveryFailures == 35)
        #expect(counters.synRetransmits == 3)
        #expect(counters.outNoRoutes == 61)
        #expect(counters.inNoRoutes == 0)
    }

    @Test func damagedInputIsSkippedNotGuessed() {
        // A values line with a missing column, a header without values, a line without a prefix,
        // values whose prefix does not match the header, an empty file.
        let text = """
            Tcp: RtoAlgorithm RetransSegs InErrs
            Tcp: 1 444
            TcpExt: TCPLostRetransmit
            garbage
            IpExt: InNoRoutes
            Ip: 7
            Udp: InDatagrams NoPorts
            Udp: 5 x
            """
        let table = ProcNetTable.parse(text)
        #expect(table.isEmpty, "\(table)")
        #expect(KernelTCPCounters(snmp: "", netstat: "").named.isEmpty)
        let truncated = KernelTCPCounters(snmp: String(RecordedProcNet.snmp.prefix(200)), netstat: RecordedProcNet.netstat)
        #expect(truncated.retransmittedSegments == nil)
        #expect(truncated.lostRetransmits == 0)
    }
}
