/// ctnetlink message types: `NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_*`, as they appear in
/// `nlmsg_type`.
public enum ConntrackMessageType {
    /// The corresponding C constant is `NFNL_SUBSYS_CTNETLINK`.
    public static let subsystem: UInt8 = 1
    /// The corresponding C constant is `IPCTNL_MSG_CT_NEW`: a new or updated flow (events, dump rows).
    public static let new: UInt16 = 0x0100
    /// The corresponding C constant is `IPCTNL_MSG_CT_GET`: a flow lookup, or a table dump.
    public static let get: UInt16 = 0x0101
    /// The corresponding C constant is `IPCTNL_MSG_CT_DELETE`: a destroyed flow.
    public static let delete: UInt16 = 0x0102
    /// The corresponding C constant is `IPCTNL_MSG_CT_GET_STATS_CPU`: per-CPU statistics (a dump).
    public static let getStatisticsCPU: UInt16 = 0x0104
    /// The corresponding C constant is `IPCTNL_MSG_CT_GET_STATS`: table-wide statistics.
    public static let getStatistics: UInt16 = 0x0105

    /// The subsystem part of an nfnetlink message type (`NFNL_SUBSYS_ID`).
    @inline(__always)
    public static func subsystem(of type: UInt16) -> UInt8 { UInt8(truncatingIfNeeded: type >> 8) }
}

/// ctnetlink multicast groups, as numbers for `NETLINK_ADD_MEMBERSHIP` on a `NETLINK_NETFILTER`
/// socket.
public struct ConntrackGroup: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The corresponding C constant is `NFNLGRP_CONNTRACK_NEW`.
    public static let new = ConntrackGroup(rawValue: 1)
    /// The corresponding C constant is `NFNLGRP_CONNTRACK_UPDATE`.
    public static let update = ConntrackGroup(rawValue: 2)
    /// The corresponding C constant is `NFNLGRP_CONNTRACK_DESTROY`.
    public static let destroy = ConntrackGroup(rawValue: 3)
    /// Every flow event: what a watcher that mirrors the table joins.
    public static let allEvents: [ConntrackGroup] = [.new, .update, .destroy]
}

/// `struct nfgenmsg`, the 4-byte header of every nfnetlink message.
public struct NetfilterGenericHeader: Hashable, Sendable {
    public static let size = 4
    /// The corresponding C constant is `NFNETLINK_V0`.
    public static let version0: UInt8 = 0

    /// `nfgen_family`: the flow's layer-3 family, or `AF_UNSPEC` in requests for both.
    public var family: AddressFamily
    /// `version`: always `NFNETLINK_V0`.
    public var version: UInt8
    /// `res_id`, in network byte order on the wire: the CPU number in per-CPU statistics replies.
    public var resourceID: UInt16

    public init(family: AddressFamily, version: UInt8 = NetfilterGenericHeader.version0, resourceID: UInt16 = 0) {
        self.family = family
        self.version = version
        self.resourceID = resourceID
    }

    public init(_ reader: ByteReader, _ context: String) throws(DecodeError) {
        family = AddressFamily(rawValue: try reader.u8(at: 0, "\(context) nfgenmsg"))
        version = try reader.u8(at: 1, "\(context) nfgenmsg")
        resourceID = try reader.u16Network(at: 2, "\(context) nfgenmsg")
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = [family.rawValue, version]
        out.appendNetwork(resourceID)
        return out
    }
}

/// IP protocol numbers (`IPPROTO_*`) as conntrack tuples carry them in `CTA_PROTO_NUM`.
public struct IPProtocolNumber: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The corresponding C constant is `IPPROTO_ICMP`.
    public static let icmp = IPProtocolNumber(rawValue: 1)
    /// The corresponding C constant is `IPPROTO_TCP`.
    public static let tcp = IPProtocolNumber(rawValue: 6)
    /// The corresponding C constant is `IPPROTO_UDP`.
    public static let udp = IPProtocolNumber(rawValue: 17)
    /// The corresponding C constant is `IPPROTO_DCCP`.
    public static let dccp = IPProtocolNumber(rawValue: 33)
    /// The corresponding C constant is `IPPROTO_GRE`.
    public static let gre = IPProtocolNumber(rawValue: 47)
    /// The corresponding C constant is `IPPROTO_ICMPV6`.
    public static let icmpv6 = IPProtocolNumber(rawValue: 58)
    /// The corresponding C constant is `IPPROTO_SCTP`.
    public static let sctp = IPProtocolNumber(rawValue: 132)
    /// The corresponding C constant is `IPPROTO_UDPLITE`.
    public static let udplite = IPProtocolNumber(rawValue: 136)

    public var description: String {
        switch self {
        case .icmp: "icmp"
        case .tcp: "tcp"
        case .udp: "udp"
        case .dccp: "dccp"
        case .gre: "gre"
        case .icmpv6: "icmpv6"
        case .sctp: "sctp"
        case .udplite: "udplite"
        default: "proto-\(rawValue)"
        }
    }
}
