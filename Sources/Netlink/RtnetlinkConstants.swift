/// rtnetlink message types (`RTM_*`) that pathwatch reads or sends.
public enum RtnetlinkMessageType {
    /// The corresponding C constant is `RTM_NEWLINK`.
    public static let newLink: UInt16 = 16
    /// The corresponding C constant is `RTM_DELLINK`.
    public static let delLink: UInt16 = 17
    /// The corresponding C constant is `RTM_GETLINK`.
    public static let getLink: UInt16 = 18
    /// The corresponding C constant is `RTM_NEWADDR`.
    public static let newAddress: UInt16 = 20
    /// The corresponding C constant is `RTM_DELADDR`.
    public static let delAddress: UInt16 = 21
    /// The corresponding C constant is `RTM_GETADDR`.
    public static let getAddress: UInt16 = 22
    /// The corresponding C constant is `RTM_NEWROUTE`.
    public static let newRoute: UInt16 = 24
    /// The corresponding C constant is `RTM_DELROUTE`.
    public static let delRoute: UInt16 = 25
    /// The corresponding C constant is `RTM_GETROUTE`.
    public static let getRoute: UInt16 = 26
    /// The corresponding C constant is `RTM_NEWRULE`.
    public static let newRule: UInt16 = 32
    /// The corresponding C constant is `RTM_DELRULE`.
    public static let delRule: UInt16 = 33
    /// The corresponding C constant is `RTM_GETRULE`.
    public static let getRule: UInt16 = 34
}

/// rtnetlink multicast groups (`RTNLGRP_*`), as numbers for `NETLINK_ADD_MEMBERSHIP`.
public struct RtnetlinkGroup: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The corresponding C constant is `RTNLGRP_LINK`.
    public static let link = RtnetlinkGroup(rawValue: 1)
    /// The corresponding C constant is `RTNLGRP_IPV4_IFADDR`.
    public static let ipv4Address = RtnetlinkGroup(rawValue: 5)
    /// The corresponding C constant is `RTNLGRP_IPV4_ROUTE`.
    public static let ipv4Route = RtnetlinkGroup(rawValue: 7)
    /// The corresponding C constant is `RTNLGRP_IPV4_RULE`.
    public static let ipv4Rule = RtnetlinkGroup(rawValue: 8)
    /// The corresponding C constant is `RTNLGRP_IPV6_IFADDR`.
    public static let ipv6Address = RtnetlinkGroup(rawValue: 9)
    /// The corresponding C constant is `RTNLGRP_IPV6_ROUTE`.
    public static let ipv6Route = RtnetlinkGroup(rawValue: 11)
    /// The corresponding C constant is `RTNLGRP_IPV6_RULE`.
    public static let ipv6Rule = RtnetlinkGroup(rawValue: 19)
}

/// An interface index (`ifindex`). 0 means "none".
public struct InterfaceIndex: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ value: Int32) { self.rawValue = value }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "if\(rawValue)" }
}

/// Who installed a route (`rtm_protocol`).
///
/// pathwatch tags its own routes with ``pathwatch`` so it can find and remove exactly those and
/// never touch anyone else's.
public struct RouteProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The corresponding C constant is `RTPROT_UNSPEC`.
    public static let unspecified = RouteProtocol(rawValue: 0)
    /// The corresponding C constant is `RTPROT_REDIRECT`.
    public static let redirect = RouteProtocol(rawValue: 1)
    /// The corresponding C constant is `RTPROT_KERNEL`.
    public static let kernel = RouteProtocol(rawValue: 2)
    /// The corresponding C constant is `RTPROT_BOOT`.
    public static let boot = RouteProtocol(rawValue: 3)
    /// The corresponding C constant is `RTPROT_STATIC`.
    public static let `static` = RouteProtocol(rawValue: 4)
    /// The corresponding C constant is `RTPROT_RA`.
    public static let routerAdvertisement = RouteProtocol(rawValue: 9)
    /// The corresponding C constant is `RTPROT_DHCP`.
    public static let dhcp = RouteProtocol(rawValue: 16)
    /// pathwatch's own protocol number, from the range `/etc/iproute2/rt_protos` leaves
    /// unassigned (see docs/design/route-protocol.md).
    public static let pathwatch = RouteProtocol(rawValue: 196)

    public var description: String {
        switch self {
        case .unspecified: "unspec"
        case .redirect: "redirect"
        case .kernel: "kernel"
        case .boot: "boot"
        case .static: "static"
        case .routerAdvertisement: "ra"
        case .dhcp: "dhcp"
        case .pathwatch: "pathwatch"
        default: "\(rawValue)"
        }
    }
}

/// A routing table id (`RTA_TABLE`, or `rtm_table` when below 256).
public struct RouteTable: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The corresponding C constant is `RT_TABLE_UNSPEC`.
    public static let unspecified = RouteTable(rawValue: 0)
    /// The corresponding C constant is `RT_TABLE_DEFAULT`.
    public static let `default` = RouteTable(rawValue: 253)
    /// The corresponding C constant is `RT_TABLE_MAIN`.
    public static let main = RouteTable(rawValue: 254)
    /// The corresponding C constant is `RT_TABLE_LOCAL`.
    public static let local = RouteTable(rawValue: 255)

    public var description: String {
        switch self {
        case .main: "main"
        case .local: "local"
        case .default: "default"
        default: "\(rawValue)"
        }
    }
}

/// `rtm_scope`.
public struct RouteScope: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The corresponding C constant is `RT_SCOPE_UNIVERSE`.
    public static let universe = RouteScope(rawValue: 0)
    /// The corresponding C constant is `RT_SCOPE_LINK`.
    public static let link = RouteScope(rawValue: 253)
    /// The corresponding C constant is `RT_SCOPE_HOST`.
    public static let host = RouteScope(rawValue: 254)
}

/// `rtm_type`.
public struct RouteType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The corresponding C constant is `RTN_UNICAST`.
    public static let unicast = RouteType(rawValue: 1)
    /// The corresponding C constant is `RTN_LOCAL`.
    public static let local = RouteType(rawValue: 2)
    /// The corresponding C constant is `RTN_BROADCAST`.
    public static let broadcast = RouteType(rawValue: 3)
    /// The corresponding C constant is `RTN_ANYCAST`.
    public static let anycast = RouteType(rawValue: 4)
    /// The corresponding C constant is `RTN_MULTICAST`.
    public static let multicast = RouteType(rawValue: 5)
    /// The corresponding C constant is `RTN_BLACKHOLE`.
    public static let blackhole = RouteType(rawValue: 6)
    /// The corresponding C constant is `RTN_UNREACHABLE`.
    public static let unreachable = RouteType(rawValue: 7)
    /// The corresponding C constant is `RTN_PROHIBIT`.
    public static let prohibit = RouteType(rawValue: 8)
}

/// Interface flags (`IFF_*`) from `ifi_flags`.
public struct LinkFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The corresponding C constant is `IFF_UP`.
    public static let up = LinkFlags(rawValue: 0x1)
    /// The corresponding C constant is `IFF_LOOPBACK`.
    public static let loopback = LinkFlags(rawValue: 0x8)
    /// The corresponding C constant is `IFF_RUNNING`.
    public static let running = LinkFlags(rawValue: 0x40)
    /// The corresponding C constant is `IFF_LOWER_UP`.
    public static let lowerUp = LinkFlags(rawValue: 0x10000)
}

/// RFC 2863 operational state (`IFLA_OPERSTATE`).
public struct OperState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The corresponding C constant is `IF_OPER_UNKNOWN`.
    public static let unknown = OperState(rawValue: 0)
    /// The corresponding C constant is `IF_OPER_NOTPRESENT`.
    public static let notPresent = OperState(rawValue: 1)
    /// The corresponding C constant is `IF_OPER_DOWN`.
    public static let down = OperState(rawValue: 2)
    /// The corresponding C constant is `IF_OPER_LOWERLAYERDOWN`.
    public static let lowerLayerDown = OperState(rawValue: 3)
    /// The corresponding C constant is `IF_OPER_DORMANT`.
    public static let dormant = OperState(rawValue: 5)
    /// The corresponding C constant is `IF_OPER_UP`.
    public static let up = OperState(rawValue: 6)

    public var description: String {
        switch rawValue {
        case 0: "unknown"
        case 1: "notpresent"
        case 2: "down"
        case 3: "lowerlayerdown"
        case 4: "testing"
        case 5: "dormant"
        case 6: "up"
        default: "\(rawValue)"
        }
    }
}
