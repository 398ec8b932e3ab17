/// A typed rtnetlink message: what changed, or one row of a dump.
public enum RtnetlinkEvent: Hashable, Sendable {
    case linkChanged(Link)
    case linkRemoved(Link)
    case addressAdded(InterfaceAddress)
    case addressRemoved(InterfaceAddress)
    case routeAdded(Route)
    case routeRemoved(Route)
    case ruleAdded(Rule)
    case ruleRemoved(Rule)
    /// An ARP/ND entry created or changed state (`RTM_NEWNEIGH`).
    case neighbourChanged(Neighbour)
    /// An ARP/ND entry deleted (`RTM_DELNEIGH`): aged out, flushed or removed by hand.
    case neighbourRemoved(Neighbour)

    /// Decodes an rtnetlink message, or returns nil for a type pathwatch does not follow.
    public init?(_ message: NetlinkMessage) throws(DecodeError) {
        let p = message.payload
        switch message.header.type {
        case RtnetlinkMessageType.newLink: self = .linkChanged(try Link(payload: p))
        case RtnetlinkMessageType.delLink: self = .linkRemoved(try Link(payload: p))
        case RtnetlinkMessageType.newAddress: self = .addressAdded(try InterfaceAddress(payload: p))
        case RtnetlinkMessageType.delAddress: self = .addressRemoved(try InterfaceAddress(payload: p))
        case RtnetlinkMessageType.newRoute:
            guard let route = try Route.decodeIfIP(p) else { return nil }
            self = .routeAdded(route)
        case RtnetlinkMessageType.delRoute:
            guard let route = try Route.decodeIfIP(p) else { return nil }
            self = .routeRemoved(route)
        case RtnetlinkMessageType.newRule: self = .ruleAdded(try Rule(payload: p))
        case RtnetlinkMessageType.delRule: self = .ruleRemoved(try Rule(payload: p))
        case RtnetlinkMessageType.newNeighbour:
            guard let neighbour = try Neighbour.decodeIfIP(p) else { return nil }
            self = .neighbourChanged(neighbour)
        case RtnetlinkMessageType.delNeighbour:
            guard let neighbour = try Neighbour.decodeIfIP(p) else { return nil }
            self = .neighbourRemoved(neighbour)
        default: return nil
        }
    }
}

extension Route {
    /// Multicast (`RTNL_FAMILY_IPMR`) and other non-IP route families are skipped, not errors.
    public static func decodeIfIP(_ p: ByteReader) throws(DecodeError) -> Route? {
        let family = AddressFamily(rawValue: try p.u8(at: 0, "RTM_NEWROUTE"))
        guard family == .inet || family == .inet6 else { return nil }
        return try Route(payload: p)
    }
}
