import Netlink

/// Asks the kernel routing questions and changes routes and rules, one request at a time.
///
/// Every change asks for an ACK, so a refusal (EEXIST for a route someone else already has,
/// EPERM without CAP_NET_ADMIN) comes back as a ``NetlinkError`` naming the operation and the
/// kernel's extended-ACK text.
public final class RouteClient: Sendable {
    private let socket: NetlinkSocket

    public init() throws(NetlinkError) {
        socket = try NetlinkSocket(bus: .route)
        try socket.setReceiveTimeout(milliseconds: 2000)
    }

    /// The route the kernel would use from `source` to `destination` (`ip route get`), or nil
    /// when it has none (ENETUNREACH, EHOSTUNREACH, …: the error says which).
    public func lookup(to destination: IPAddress, from source: IPAddress?) throws(NetlinkError) -> Route {
        var answer: Route?
        let operation = "route lookup to \(destination)" + (source.map { " from \($0)" } ?? "")
        try socket.request(.lookupRoute(to: destination, from: source), operation) { message throws(NetlinkError) in
            guard message.header.type == RtnetlinkMessageType.newRoute else { return }
            answer = try decoding(operation) { () throws(DecodeError) in try Route(payload: message.payload) }
        }
        guard let answer else { throw NetlinkError(operation, .protocolViolation("the kernel sent no route")) }
        return answer
    }

    public func add(_ route: Route) throws(NetlinkError) {
        try socket.request(.addRoute(route), "add route \(route.destination) table \(route.table)") { _ throws(NetlinkError) in }
    }

    public func delete(_ route: Route) throws(NetlinkError) {
        try socket.request(.deleteRoute(route), "delete route \(route.destination) table \(route.table)") { _ throws(NetlinkError) in }
    }

    public func add(_ rule: Rule) throws(NetlinkError) {
        try socket.request(.addRule(rule), "add rule priority \(rule.priority)") { _ throws(NetlinkError) in }
    }

    public func delete(_ rule: Rule) throws(NetlinkError) {
        try socket.request(.deleteRule(rule), "delete rule priority \(rule.priority)") { _ throws(NetlinkError) in }
    }
}
