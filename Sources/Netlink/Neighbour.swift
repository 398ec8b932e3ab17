/// `ndm_state`: where the kernel's address resolution (ARP, ND) for a neighbour stands.
public struct NeighbourState: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// The corresponding C constant is `NUD_INCOMPLETE`: resolution under way, no answer yet.
    public static let incomplete = NeighbourState(rawValue: 0x01)
    /// The corresponding C constant is `NUD_REACHABLE`.
    public static let reachable = NeighbourState(rawValue: 0x02)
    /// The corresponding C constant is `NUD_STALE`.
    public static let stale = NeighbourState(rawValue: 0x04)
    /// The corresponding C constant is `NUD_DELAY`.
    public static let delay = NeighbourState(rawValue: 0x08)
    /// The corresponding C constant is `NUD_PROBE`.
    public static let probe = NeighbourState(rawValue: 0x10)
    /// The corresponding C constant is `NUD_FAILED`: resolution gave up; packets to it are dropped.
    public static let failed = NeighbourState(rawValue: 0x20)
    /// The corresponding C constant is `NUD_NOARP`.
    public static let noARP = NeighbourState(rawValue: 0x40)
    /// The corresponding C constant is `NUD_PERMANENT`.
    public static let permanent = NeighbourState(rawValue: 0x80)

    /// As `ip neigh` prints it (`FAILED`, `INCOMPLETE`, …).
    public var description: String {
        let names: [(NeighbourState, String)] = [
            (.incomplete, "INCOMPLETE"), (.reachable, "REACHABLE"), (.stale, "STALE"), (.delay, "DELAY"), (.probe, "PROBE"),
            (.failed, "FAILED"), (.noARP, "NOARP"), (.permanent, "PERMANENT"),
        ]
        let set = names.filter { contains($0.0) }.map(\.1)
        return set.isEmpty ? "NONE" : set.joined(separator: ",")
    }
}

/// One neighbour-table entry (`RTM_NEWNEIGH`/`RTM_DELNEIGH`: `struct ndmsg` + attributes).
public struct Neighbour: Hashable, Sendable {
    public var family: AddressFamily
    public var interface: InterfaceIndex
    public var state: NeighbourState
    public var address: IPAddress?
    public var linkAddress: [UInt8]?
    /// `ndm_flags`: `NTF_PROXY` (0x08) marks a proxy-ARP/ND entry, which resolves nothing.
    public var flags: UInt8 = 0

    public init(
        family: AddressFamily, interface: InterfaceIndex, state: NeighbourState, address: IPAddress?, linkAddress: [UInt8]? = nil,
        flags: UInt8 = 0
    ) {
        self.family = family
        self.interface = interface
        self.state = state
        self.address = address
        self.linkAddress = linkAddress
        self.flags = flags
    }

    /// A proxy entry (`ip neigh add proxy …`): answered for others, never resolved.
    public var isProxy: Bool { flags & 0x08 != 0 }

    /// ARP and ND entries only: the same messages carry the bridge forwarding database
    /// (`AF_BRIDGE`), which is not a neighbour table and is skipped, not an error.
    public static func decodeIfIP(_ p: ByteReader) throws(DecodeError) -> Neighbour? {
        let family = AddressFamily(rawValue: try p.u8(at: 0, "RTM_NEWNEIGH"))
        guard family == .inet || family == .inet6 else { return nil }
        return try Neighbour(payload: p)
    }

    /// Decodes the payload of `RTM_NEWNEIGH`: `ndm_family` u8, two pad bytes, `ndm_ifindex` i32
    /// and `ndm_state` u16 in host order, then `NDA_*` attributes from offset 12.
    public init(payload p: ByteReader) throws(DecodeError) {
        let c = "RTM_NEWNEIGH"
        guard p.count >= 12 else { throw DecodeError(c, "ndmsg truncated", offset: p.baseOffset) }
        family = AddressFamily(rawValue: try p.u8(at: 0, c))
        interface = InterfaceIndex(rawValue: try p.i32Host(at: 4, c))
        state = NeighbourState(rawValue: try p.u16Host(at: 8, c))
        flags = try p.u8(at: 10, c)
        var destination: IPAddress?
        var link: [UInt8]?
        try p.slice(12, p.count - 12, c).forEachAttribute(c) { a throws(DecodeError) in
            switch a.type {
            case 1: destination = try IPAddress(networkBytes: a.payload, "NDA_DST")
            case 2: link = a.payload.array()
            default: break
            }
        }
        if let destination, destination.family != family {
            throw DecodeError(c, "NDA_DST \(destination) in a family \(family.rawValue) entry", offset: p.baseOffset)
        }
        address = destination
        linkAddress = link
    }
}

extension RtnetlinkMessageType {
    /// The corresponding C constant is `RTM_NEWNEIGH`.
    public static let newNeighbour: UInt16 = 28
    /// The corresponding C constant is `RTM_DELNEIGH`.
    public static let delNeighbour: UInt16 = 29
    /// The corresponding C constant is `RTM_GETNEIGH`.
    public static let getNeighbour: UInt16 = 30
}

extension RtnetlinkGroup {
    /// The corresponding C constant is `RTNLGRP_NEIGH`: ARP and ND entries of both families.
    public static let neighbour = RtnetlinkGroup(rawValue: 3)
}

extension NetlinkRequest {
    /// A dump of the neighbour tables of both families (`ip neigh show`), at start-up and after
    /// an overrun; between dumps the subscription follows the changes.
    public static func dumpNeighbours() -> NetlinkRequest {
        NetlinkRequest(
            type: RtnetlinkMessageType.getNeighbour, flags: [.request, .dump], familyHeader: [UInt8](repeating: 0, count: 12))
    }
}
