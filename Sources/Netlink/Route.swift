/// One path of a route: a gateway and/or an output interface.
public struct NextHop: Hashable, Sendable {
    public var gateway: IPAddress?
    public var interface: InterfaceIndex?
    /// `rtnh_hops`: weight - 1, for multipath.
    public var weight: Int

    public init(gateway: IPAddress? = nil, interface: InterfaceIndex? = nil, weight: Int = 1) {
        self.gateway = gateway
        self.interface = interface
        self.weight = weight
    }
}

/// A route as `RTM_NEWROUTE` describes it, from any table, IPv4 or IPv6.
public struct Route: Hashable, Sendable {
    public var family: AddressFamily
    public var destination: IPPrefix
    public var source: IPPrefix?
    public var tos: UInt8
    public var table: RouteTable
    public var protocolID: RouteProtocol
    public var scope: RouteScope
    public var type: RouteType
    public var priority: UInt32?
    public var preferredSource: IPAddress?
    /// Single-path routes: one entry. Multipath routes (`RTA_MULTIPATH`): one per path.
    public var nextHops: [NextHop] {
        get {
            switch paths {
            case .none: []
            case .single(let hop): [hop]
            case .multiple(let hops): hops
            }
        }
        set { paths = Paths(newValue) }
    }

    /// Almost every route has one path: keeping it inline spares a heap allocation per route,
    /// which a node with a million routes notices. Public so that a model can store and rebuild
    /// a route's paths without going through the `nextHops` array.
    public var paths: Paths

    /// A route's paths, single-path ones inline.
    public enum Paths: Hashable, Sendable {
        case none
        case single(NextHop)
        case multiple([NextHop])

        public init(_ hops: [NextHop]) {
            switch hops.count {
            case 0: self = .none
            case 1: self = .single(hops[0])
            default: self = .multiple(hops)
            }
        }

        public var first: NextHop? {
            switch self {
            case .none: nil
            case .single(let hop): hop
            case .multiple(let hops): hops.first
            }
        }
    }

    public init(
        destination: IPPrefix, source: IPPrefix? = nil, tos: UInt8 = 0, table: RouteTable = .main,
        protocolID: RouteProtocol = .boot, scope: RouteScope = .universe, type: RouteType = .unicast,
        priority: UInt32? = nil, preferredSource: IPAddress? = nil, nextHops: [NextHop] = []
    ) {
        self.family = destination.address.family
        self.destination = destination
        self.source = source
        self.tos = tos
        self.table = table
        self.protocolID = protocolID
        self.scope = scope
        self.type = type
        self.priority = priority
        self.preferredSource = preferredSource
        self.paths = Paths(nextHops)
    }

    /// What makes two routes the same route to the kernel: a `RTM_DELROUTE` with this key
    /// removes the one `RTM_NEWROUTE` added.
    public struct Key: Hashable, Sendable {
        public var table: RouteTable
        public var destination: IPPrefix
        public var source: IPPrefix?
        public var tos: UInt8
        public var priority: UInt32
        public var type: RouteType

        public init(table: RouteTable, destination: IPPrefix, source: IPPrefix?, tos: UInt8, priority: UInt32, type: RouteType) {
            self.table = table
            self.destination = destination
            self.source = source
            self.tos = tos
            self.priority = priority
            self.type = type
        }

        /// Hashes the fields that tell routes apart in practice (equality still compares all):
        /// building the model from a million-route dump is dominated by hashing these keys.
        public func hash(into hasher: inout Hasher) {
            switch destination.address {
            case .v4(let v): hasher.combine(UInt64(v) << 8 | UInt64(destination.length))
            case .v6(let hi, let lo):
                hasher.combine(hi)
                hasher.combine(lo ^ UInt64(destination.length))
            }
            hasher.combine(UInt64(table.rawValue) << 32 | UInt64(priority))
        }
    }

    public var key: Key {
        Key(table: table, destination: destination, source: source, tos: tos, priority: priority ?? 0, type: type)
    }

    /// The first path's gateway; what `ip route` shows as `via`.
    public var gateway: IPAddress? { paths.first?.gateway }
    /// The first path's interface; what `ip route` shows as `dev`.
    public var outputInterface: InterfaceIndex? { paths.first?.interface }
    /// How many paths the route has, without building the `nextHops` array.
    public var pathCount: Int {
        switch paths {
        case .none: 0
        case .single: 1
        case .multiple(let hops): hops.count
        }
    }

    /// Decodes the payload of `RTM_NEWROUTE`/`RTM_DELROUTE` (`struct rtmsg` + attributes).
    public init(payload p: ByteReader) throws(DecodeError) {
        let c = "RTM_NEWROUTE"
        guard p.count >= 12 else { throw DecodeError(c, "rtmsg truncated", offset: p.baseOffset) }
        family = AddressFamily(rawValue: try p.u8(at: 0, c))
        let dstLength = Int(try p.u8(at: 1, c))
        let srcLength = Int(try p.u8(at: 2, c))
        tos = try p.u8(at: 3, c)
        var table = RouteTable(rawValue: UInt32(try p.u8(at: 4, c)))
        protocolID = RouteProtocol(rawValue: try p.u8(at: 5, c))
        scope = RouteScope(rawValue: try p.u8(at: 6, c))
        type = RouteType(rawValue: try p.u8(at: 7, c))
        var destination: IPAddress?
        var source: IPAddress?
        var gateway: IPAddress?
        var oif: InterfaceIndex?
        var priority: UInt32?
        var prefsrc: IPAddress?
        var multipath: [NextHop] = []
        try p.slice(12, p.count - 12, c).forEachAttribute(c) { a throws(DecodeError) in
            switch a.type {
            case 1: destination = try IPAddress(networkBytes: a.payload, "RTA_DST")
            case 2: source = try IPAddress(networkBytes: a.payload, "RTA_SRC")
            case 4: oif = InterfaceIndex(Int32(bitPattern: try a.u32Host("RTA_OIF")))
            case 5: gateway = try IPAddress(networkBytes: a.payload, "RTA_GATEWAY")
            case 6: priority = try a.u32Host("RTA_PRIORITY")
            case 7: prefsrc = try IPAddress(networkBytes: a.payload, "RTA_PREFSRC")
            case 9: multipath = try Route.decodeMultipath(a.payload)
            case 15: table = RouteTable(rawValue: try a.u32Host("RTA_TABLE"))
            default: break
            }
        }
        guard family == .inet || family == .inet6 else {
            throw DecodeError(c, "family \(family.rawValue) is not IPv4 or IPv6", offset: p.baseOffset)
        }
        let width = family == .inet ? 32 : 128
        guard dstLength <= width, srcLength <= width else {
            throw DecodeError(c, "prefix length \(dstLength)/\(srcLength) exceeds \(width)", offset: p.baseOffset + 1)
        }
        let zero: IPAddress = family == .inet ? .v4(0) : .v6(0, 0)
        let dst = destination ?? zero
        guard dst.family == family else { throw DecodeError(c, "RTA_DST family differs from rtm_family", offset: p.baseOffset) }
        self.destination = IPPrefix(address: dst, length: dstLength)
        self.source =
            source.map { IPPrefix(address: $0, length: srcLength) } ?? (srcLength > 0 ? IPPrefix(address: zero, length: srcLength) : nil)
        self.table = table
        self.priority = priority
        self.preferredSource = prefsrc
        if !multipath.isEmpty {
            self.paths = Paths(multipath)
        } else if gateway != nil || oif != nil {
            self.paths = .single(NextHop(gateway: gateway, interface: oif))
        } else {
            self.paths = .none
        }
    }

    /// `RTA_MULTIPATH`: a sequence of `struct rtnexthop`, each followed by its own attributes.
    static func decodeMultipath(_ r: ByteReader) throws(DecodeError) -> [NextHop] {
        let c = "RTA_MULTIPATH"
        var hops: [NextHop] = []
        var offset = 0
        while offset + 8 <= r.count {
            let length = Int(try r.u16Host(at: offset, c))
            guard length >= 8, length <= r.count - offset else {
                throw DecodeError(c, "rtnexthop length \(length)", offset: r.baseOffset + offset)
            }
            let weight = Int(try r.u8(at: offset + 3, c)) + 1
            let index = InterfaceIndex(try r.i32Host(at: offset + 4, c))
            var gateway: IPAddress?
            try r.slice(offset + 8, length - 8, c).forEachAttribute(c) { a throws(DecodeError) in
                if a.type == 5 { gateway = try IPAddress(networkBytes: a.payload, "RTA_GATEWAY") }
            }
            hops.append(NextHop(gateway: gateway, interface: index, weight: weight))
            offset += (length + 3) & ~3
        }
        return hops
    }
}
