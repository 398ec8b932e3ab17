import Netlink

/// A consistent snapshot of the node's rtnetlink state.
public struct RtnetlinkSnapshot: Sendable {
    public var links: [Link] = []
    public var addresses: [InterfaceAddress] = []
    public var routes: [Route] = []
    public var rules: [Rule] = []
    public init() {}
}

/// Dumps over one request socket, retrying dumps the kernel marks as interrupted.
public final class RtnetlinkDumper: Sendable {
    private let socket: NetlinkSocket
    /// How often an interrupted dump is retried before the error is reported.
    public let maxAttempts = 5

    public init() throws(NetlinkError) {
        socket = try NetlinkSocket(bus: .route)
        try socket.setReceiveTimeout(milliseconds: 5000)
    }

    public func links() throws(NetlinkError) -> [Link] {
        try dump(.dumpLinks(), "dump links (RTM_GETLINK)") { m throws(DecodeError) in
            m.header.type == RtnetlinkMessageType.newLink ? try Link(payload: m.payload) : nil
        }
    }

    public func addresses() throws(NetlinkError) -> [InterfaceAddress] {
        try dump(.dumpAddresses(), "dump addresses (RTM_GETADDR)") { m throws(DecodeError) in
            m.header.type == RtnetlinkMessageType.newAddress ? try InterfaceAddress(payload: m.payload) : nil
        }
    }

    /// Every IPv4 and IPv6 route in every table.
    public func routes() throws(NetlinkError) -> [Route] {
        var all = try routes(family: .inet)
        all += try routes(family: .inet6)
        return all
    }

    public func routes(family: AddressFamily) throws(NetlinkError) -> [Route] {
        try dump(.dumpRoutes(family: family), "dump \(family) routes (RTM_GETROUTE)") { m throws(DecodeError) in
            m.header.type == RtnetlinkMessageType.newRoute ? try Route.decodeIfIP(m.payload) : nil
        }
    }

    /// Visits every route without collecting them, for callers that build their own index.
    /// When the kernel interrupts the dump, `restart` is called before it is dumped again, so
    /// the caller can drop what the inconsistent attempt delivered.
    public func forEachRoute(family: AddressFamily, restart: () -> Void = {}, _ body: (Route) -> Void) throws(NetlinkError) {
        var first = true
        try withRetries("dump \(family) routes (RTM_GETROUTE)") { operation throws(NetlinkError) in
            if !first { restart() }
            first = false
            try socket.request(.dumpRoutes(family: family), operation) { m throws(NetlinkError) in
                guard m.header.type == RtnetlinkMessageType.newRoute else { return }
                if let route = try decoding(operation, { () throws(DecodeError) in try Route.decodeIfIP(m.payload) }) {
                    body(route)
                }
            }
        }
    }

    /// Visits every ARP and ND entry without collecting them: the tables of a big node hold tens
    /// of thousands, of which the model keeps a few. `restart` as for ``forEachRoute``.
    public func forEachNeighbour(restart: () -> Void = {}, _ body: (Neighbour) -> Void) throws(NetlinkError) {
        var first = true
        try withRetries("dump neighbours (RTM_GETNEIGH)") { operation throws(NetlinkError) in
            if !first { restart() }
            first = false
            try socket.request(.dumpNeighbours(), operation) { m throws(NetlinkError) in
                guard m.header.type == RtnetlinkMessageType.newNeighbour else { return }
                if let neighbour = try decoding(operation, { () throws(DecodeError) in try Neighbour.decodeIfIP(m.payload) }) {
                    body(neighbour)
                }
            }
        }
    }

    public func rules() throws(NetlinkError) -> [Rule] {
        var all = try dump(.dumpRules(family: .inet), "dump IPv4 rules (RTM_GETRULE)") { m throws(DecodeError) in
            m.header.type == RtnetlinkMessageType.newRule ? try Rule(payload: m.payload) : nil
        }
        all += try dump(.dumpRules(family: .inet6), "dump IPv6 rules (RTM_GETRULE)") { m throws(DecodeError) in
            m.header.type == RtnetlinkMessageType.newRule ? try Rule(payload: m.payload) : nil
        }
        return all
    }

    public func snapshot() throws(NetlinkError) -> RtnetlinkSnapshot {
        var s = RtnetlinkSnapshot()
        s.links = try links()
        s.addresses = try addresses()
        s.routes = try routes()
        s.rules = try rules()
        return s
    }

    private func dump<T>(
        _ request: NetlinkRequest, _ operation: String, _ decode: (NetlinkMessage) throws(DecodeError) -> T?
    ) throws(NetlinkError) -> [T] {
        var result: [T] = []
        try withRetries(operation) { operation throws(NetlinkError) in
            result.removeAll(keepingCapacity: true)
            try socket.request(request, operation) { m throws(NetlinkError) in
                if let value = try decoding(operation, { () throws(DecodeError) in try decode(m) }) { result.append(value) }
            }
        }
        return result
    }

    private func withRetries(_ operation: String, _ body: (String) throws(NetlinkError) -> Void) throws(NetlinkError) {
        var attempt = 1
        while true {
            do {
                try body(operation)
                return
            } catch {
                guard error.kind == .dumpInterrupted, attempt < maxAttempts else { throw error }
                attempt += 1
            }
        }
    }
}
