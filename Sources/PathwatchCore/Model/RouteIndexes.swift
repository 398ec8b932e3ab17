import Netlink

/// Small indexes over the route table, kept as routes come and go, so that the questions asked
/// on every evaluation cost the size of their answer, not a pass over every route under the
/// model's lock: on a million-route node that pass held the lock for seconds (debug build, two
/// busy cores) and made the watchers and `/metrics` wait behind it.
///
/// - ``own``: pathwatch's routes (protocol 196), which the repair planner cleans up;
/// - ``defaults``: default routes (metadata discovery's primary interface);
/// - ``uplinks``: links some route leaves through via a gateway (the hairpin slices' "local").
public struct RouteIndexes: Sendable {
    public private(set) var own: Set<Route.Key> = []
    public private(set) var defaults: Set<Route.Key> = []
    /// Per link, how many route paths leave through it via a gateway.
    private var gatewayPaths: [InterfaceIndex: Int] = [:]

    public init() {}

    /// Built in one pass, after a bulk removal.
    public init(_ routes: some Sequence<Route>) {
        for route in routes { add(route) }
    }

    public var uplinks: Set<InterfaceIndex> { Set(gatewayPaths.keys) }

    public mutating func add(_ route: Route) {
        if route.protocolID == .pathwatch { own.insert(route.key) }
        if route.destination.length == 0 { defaults.insert(route.key) }
        forEachUplink(of: route) { gatewayPaths[$0, default: 0] += 1 }
    }

    public mutating func remove(_ route: Route) {
        if route.protocolID == .pathwatch { own.remove(route.key) }
        if route.destination.length == 0 { defaults.remove(route.key) }
        forEachUplink(of: route) { link in
            let n = gatewayPaths[link, default: 0] - 1
            if n > 0 { gatewayPaths[link] = n } else { gatewayPaths.removeValue(forKey: link) }
        }
    }

    public mutating func removeAll() { self = RouteIndexes() }

    /// The same paths on the way in and out, so the counts return to zero.
    private func forEachUplink(of route: Route, _ body: (InterfaceIndex) -> Void) {
        if route.pathCount == 1 {
            if route.gateway != nil, let link = route.outputInterface { body(link) }
        } else {
            for hop in route.nextHops where hop.gateway != nil { if let link = hop.interface { body(link) } }
        }
    }
}
