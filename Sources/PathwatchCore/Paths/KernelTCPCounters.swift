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
        let table = ProcNetTable.parse(snmp, keeping: Self.read).merging(ProcNetTable.parse(netstat, keeping: Self.read)) { first, _ in
            first
        }
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

    /// The counters read, by table (`ProcNetTable.parse(_:keeping:)`).
    static let read: [String: Set<String>] = [
        "Tcp": ["RetransSegs"], "Ip": ["OutNoRoutes"], "IpExt": ["InNoRoutes"],
        "TcpExt": ["TCPLostRetransmit", "TCPSackRecoveryFail", "TCPSynRetrans", "TCPDSACKOldSent", "TCPDSACKOfoSent", "TCPOFOQueue"],
    ]

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
    /// `table["TcpExt"]["TCPLostRetransmit"]`. The first line of each pair names the columns,
    /// the second holds the values; a pair that does not match up (a truncated read, a header
    /// without values, a value that is not a number) is skipped, never guessed at.
    ///
    /// `keeping` names the counters wanted, by table: other tables' lines are not even split,
    /// other columns not converted (the path sampler reads 9 of the ~400 counters every sample,
    /// and parsing them all was a good part of an idle agent's CPU). nil keeps everything.
    public static func parse(_ text: String, keeping wanted: [String: Set<String>]? = nil) -> [String: [String: Int64]] {
        var result: [String: [String: Int64]] = [:]
        var pendingPrefix: Substring?
        var pendingNames: [Substring] = []
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else {
                pendingPrefix = nil
                continue
            }
            let prefix = line[..<colon]
            var keep: Set<String>?
            if let wanted {
                guard let names = wanted[String(prefix)] else {
                    pendingPrefix = nil  // A table nobody asked for.
                    continue
                }
                keep = names
            }
            let fields = line[line.index(after: colon)...].split(separator: " ", omittingEmptySubsequences: true)
            guard pendingPrefix == prefix else {
                pendingPrefix = prefix
                pendingNames = fields
                continue
            }
            pendingPrefix = nil
            guard fields.count == pendingNames.count, let values = values(pendingNames, fields, keep) else { continue }
            result[String(prefix), default: [:]].merge(values) { _, new in new }
        }
        return result
    }

    /// The kept columns of one value line, or nil if one of them is not a number.
    private static func values(_ names: [Substring], _ fields: [Substring], _ keep: Set<String>?) -> [String: Int64]? {
        var values: [String: Int64] = [:]
        for (name, field) in zip(names, fields) {
            let name = String(name)
            if let keep, !keep.contains(name) { continue }
            guard let value = Int64(field) else { return nil }
            values[name] = value
        }
        return values
    }
}
