/// The kernel's cumulative IP/TCP counters the incident read by hand with `netstat -s`, from
/// `/proc/net/snmp` and `/proc/net/netstat` (both files of the reader's network namespace).
public struct KernelTCPCounters: Sendable, Hashable {
    /// `Tcp: RetransSegs` (/proc/net/snmp): segments retransmitted.
    public var retransmittedSegments: Int64?
    /// `TcpExt: TCPLostRetransmit`: retransmissions that were themselves lost.
    public var lostRetransmits: Int64?
    /// `TcpExt: TCPSackRecoveryFail`: SACK recoveries that ended in a timeout.
    public var sackRecoveryFailures: Int64?
    /// `TcpExt: TCPSynRetrans`: SYN and SYN-ACK retransmissions.
    public var synRetransmits: Int64?
    /// `IpExt: InNoRoutes`: packets received with no route to deliver or forward them.
    public var inNoRoutes: Int64?
    /// `Ip: OutNoRoutes`: packets the node could not send for lack of a route.
    public var outNoRoutes: Int64?
    /// `TcpExt: TCPDSACKOldSent`: D-SACKs the node sent for data it already had (the peer
    /// retransmitted because the node's ACKs were lost): the receiving side's view of loss.
    public var dsackOldSent: Int64?
    /// `TcpExt: TCPDSACKOfoSent`: D-SACKs the node sent for duplicate out-of-order data.
    public var dsackOutOfOrderSent: Int64?
    /// `TcpExt: TCPOFOQueue`: data packets the node queued because they arrived out of order.
    public var outOfOrderQueued: Int64?

    public init() {}

    /// Reads the counters from the text of `/proc/net/snmp` and `/proc/net/netstat`; a counter
    /// a kernel does not have stays nil.
    public init(snmp: String, netstat: String) {
        let table = ProcNetTable.parse(snmp).merging(ProcNetTable.parse(netstat)) { first, _ in first }
        retransmittedSegments = table["Tcp"]?["RetransSegs"]
        lostRetransmits = table["TcpExt"]?["TCPLostRetransmit"]
        sackRecoveryFailures = table["TcpExt"]?["TCPSackRecoveryFail"]
        synRetransmits = table["TcpExt"]?["TCPSynRetrans"]
        inNoRoutes = table["IpExt"]?["InNoRoutes"]
        outNoRoutes = table["Ip"]?["OutNoRoutes"]
        dsackOldSent = table["TcpExt"]?["TCPDSACKOldSent"]
        dsackOutOfOrderSent = table["TcpExt"]?["TCPDSACKOfoSent"]
        outOfOrderQueued = table["TcpExt"]?["TCPOFOQueue"]
    }

    /// Name (as the kernel spells it), and value, of every counter read.
    public var named: [(name: String, value: Int64)] {
        [
            ("Tcp.RetransSegs", retransmittedSegments), ("TcpExt.TCPLostRetransmit", lostRetransmits),
            ("TcpExt.TCPSackRecoveryFail", sackRecoveryFailures), ("TcpExt.TCPSynRetrans", synRetransmits),
            ("IpExt.InNoRoutes", inNoRoutes), ("Ip.OutNoRoutes", outNoRoutes), ("TcpExt.TCPDSACKOldSent", dsackOldSent),
            ("TcpExt.TCPDSACKOfoSent", dsackOutOfOrderSent), ("TcpExt.TCPOFOQueue", outOfOrderQueued),
        ].compactMap { name, value in value.map { (name, $0) } }
    }
}

/// The format shared by `/proc/net/snmp` and `/proc/net/netstat`: pairs of lines with the same
/// `Prefix:`, the first naming the columns, the second holding the values.
public enum ProcNetTable {
    /// `table["TcpExt"]["TCPLostRetransmit"]`. Lines that do not pair up (a truncated read, a
    /// header without values, a value that is not a number) are skipped, never guessed at.
    public static func parse(_ text: String) -> [String: [String: Int64]] {
        var result: [String: [String: Int64]] = [:]
        var pendingPrefix: Substring?
        var pendingNames: [Substring] = []
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else {
                pendingPrefix = nil
                continue
            }
            let prefix = line[..<colon]
            let fields = line[line.index(after: colon)...].split(separator: " ", omittingEmptySubsequences: true)
            let isHeader = fields.contains { Int64($0) == nil }
            if isHeader {
                pendingPrefix = prefix
                pendingNames = fields
                continue
            }
            guard pendingPrefix == prefix, fields.count == pendingNames.count else {
                pendingPrefix = nil
                continue
            }
            var values = result[String(prefix)] ?? [:]
            for (name, value) in zip(pendingNames, fields) { values[String(name)] = Int64(value) }
            result[String(prefix)] = values
            pendingPrefix = nil
        }
        return result
    }
}
