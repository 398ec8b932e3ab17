import Netlink

/// The agent's live model of the node: interfaces, addresses, routes, rules, and which addresses
/// are node-local endpoints.
///
/// A value type fed by typed ``RtnetlinkEvent``s, so unit tests drive it with synthetic events
/// and the watchers drive it with the kernel's. A full re-dump replaces it wholesale through
/// ``replaceAll(links:addresses:routes:rules:)``, which is how the agent recovers from a netlink
/// overrun without drifting.
public struct NodeState: Sendable {
    public private(set) var links: [InterfaceIndex: Link] = [:]
    public private(set) var addresses: [InterfaceAddress.Key: InterfaceAddress] = [:]
    /// Every route of every table, packed (``RouteStore``): looked up by `Route.Key`, read as
    /// `Route` values.
    public private(set) var routes = RouteStore()
    /// pathwatch's own routes, default routes and uplinks, kept in step with ``routes``.
    public private(set) var routeIndexes = RouteIndexes()
    public private(set) var rules: Set<Rule> = []
    /// Unanswered ARP/ND entries only, bounded (``NeighbourView``).
    public private(set) var neighbours = NeighbourView()
    /// Host routes (/32, /128) to container interfaces: pod addresses hosted on this node.
    public private(set) var containerEndpoints: [Route.Key: IPAddress] = [:]
    private var endpointCounts: [IPAddress: Int] = [:]

    /// Link kinds whose host routes point at workloads on this node (pods, containers).
    public static let containerLinkKinds: Set<String> = ["veth", "netkit", "ipvlan", "macvlan"]

    public init() {}

    /// Applies one event. Returns whether the model changed.
    @discardableResult
    public mutating func apply(_ event: RtnetlinkEvent) -> Bool {
        switch event {
        case .linkChanged(let link):
            let old = links.updateValue(link, forKey: link.index)
            return old != link
        case .linkRemoved(let link):
            guard links.removeValue(forKey: link.index) != nil else { return false }
            neighbours.removeAll(on: link.index)
            return true
        case .addressAdded(let address):
            let old = addresses.updateValue(address, forKey: address.key)
            if old == nil { countEndpoint(address.address, +1) }
            return old != address
        case .addressRemoved(let address):
            guard addresses.removeValue(forKey: address.key) != nil else { return false }
            countEndpoint(address.address, -1)
            return true
        case .routeAdded(let route):
            // Most routes are not pod host routes: only touch the endpoint index when the old or
            // the new route is one (a dump of a million routes then costs one hash per route).
            switch routes.upsert(route) {
            case .rejected:
                return false
            case .unchanged:
                if isContainerHostRoute(route) { updateContainerEndpoint(route.key, route) }
                return false
            case .inserted:
                routeIndexes.add(route)
                if isContainerHostRoute(route) { updateContainerEndpoint(route.key, route) }
                return true
            case .replaced(let old):
                routeIndexes.remove(old)
                routeIndexes.add(route)
                if isContainerHostRoute(old) || isContainerHostRoute(route) { updateContainerEndpoint(route.key, route) }
                return true
            }
        case .routeRemoved(let route):
            let key = route.key
            guard let old = routes.remove(key) else { return false }
            routeIndexes.remove(old)
            if isContainerHostRoute(old) || containerEndpoints[key] != nil { updateContainerEndpoint(key, nil) }
            return true
        case .ruleAdded(let rule):
            return rules.insert(rule).inserted
        case .ruleRemoved(let rule):
            return rules.remove(rule) != nil
        case .neighbourChanged(let neighbour):
            return neighbours.apply(neighbour, removed: false) == .changed
        case .neighbourRemoved(let neighbour):
            return neighbours.apply(neighbour, removed: true) == .changed
        }
    }

    /// Applies one neighbour entry and says whether it was kept, for the dropped-entries count.
    @discardableResult
    public mutating func applyNeighbour(_ neighbour: Neighbour, removed: Bool = false) -> NeighbourView.Outcome {
        neighbours.apply(neighbour, removed: removed)
    }

    /// Puts in a neighbour view built from a dump, or keeps it across a rebuild of the rest;
    /// the dropped-entries count adds up across both.
    public mutating func replaceNeighbours(_ view: NeighbourView) {
        let dropped = neighbours.droppedTotal + view.droppedTotal
        neighbours = view
        neighbours.droppedTotal = dropped
    }

    /// Replaces the whole model with a fresh dump.
    public mutating func replaceAll(links: [Link], addresses: [InterfaceAddress], routes: [Route], rules: [Rule]) {
        self = NodeState()
        self.links.reserveCapacity(links.count)
        self.routes.reserveCapacity(routes.count)
        for link in links { apply(.linkChanged(link)) }
        for address in addresses { apply(.addressAdded(address)) }
        for route in routes { apply(.routeAdded(route)) }
        for rule in rules { apply(.ruleAdded(rule)) }
    }

    /// Makes room for `count` routes at once, so a dump of a million routes is inserted without
    /// the table growing (and rehashing) twenty times on the way.
    public mutating func reserveRouteCapacity(_ count: Int) {
        routes.reserveCapacity(count)
    }

    /// Drops every route of `family` (before a route dump of that family is applied again).
    public mutating func removeRoutes(family: AddressFamily) {
        routes.removeAll(family: family)
        routeIndexes = RouteIndexes(routes.values)
        for key in containerEndpoints.keys where key.destination.address.family == family { updateContainerEndpoint(key, nil) }
    }

    /// Replaces only the routes (after a route-socket overrun), keeping links and addresses.
    public mutating func replaceRoutes(_ fresh: [Route]) {
        routes.removeAll(keepingCapacity: true)
        routeIndexes.removeAll()
        for (key, _) in containerEndpoints { updateContainerEndpoint(key, nil) }
        for route in fresh { apply(.routeAdded(route)) }
    }

    /// Replaces only the rules.
    public mutating func replaceRules(_ fresh: [Rule]) {
        rules = Set(fresh)
    }

    /// Replaces only the addresses.
    public mutating func replaceAddresses(_ fresh: [InterfaceAddress]) {
        for (_, address) in addresses { countEndpoint(address.address, -1) }
        addresses.removeAll(keepingCapacity: true)
        for address in fresh { apply(.addressAdded(address)) }
    }

    /// Replaces only the links.
    public mutating func replaceLinks(_ fresh: [Link]) {
        links = Dictionary(fresh.map { ($0.index, $0) }, uniquingKeysWith: { _, new in new })
    }

    /// Refreshes the counters of a link already in the model; a dump that raced a removal must
    /// not bring the link back, so unknown links are ignored.
    public mutating func updateStatistics(of link: Link) {
        guard var known = links[link.index], known.name == link.name else { return }
        known.statistics = link.statistics
        known.operState = link.operState
        known.flags = link.flags
        links[link.index] = known
    }

    /// Whether `address` belongs to this node: one of its own addresses, or a workload address
    /// routed to a container interface on it.
    public func isLocalEndpoint(_ address: IPAddress) -> Bool { endpointCounts[address, default: 0] > 0 }

    /// Every node-local endpoint.
    public var localEndpoints: Set<IPAddress> { Set(endpointCounts.keys) }

    public func link(named name: String) -> Link? { links.values.first { $0.name == name } }

    public func addresses(on interface: InterfaceIndex) -> [InterfaceAddress] {
        addresses.values.filter { $0.interface == interface }.sorted { $0.address < $1.address }
    }

    /// Counts for metrics and logs.
    public var summary: Summary {
        var s = Summary()
        s.links = links.count
        for address in addresses.values {
            if address.family == .inet { s.ipv4Addresses += 1 } else { s.ipv6Addresses += 1 }
        }
        s.ipv4Routes = routes.count(of: .inet)
        s.ipv6Routes = routes.count(of: .inet6)
        for rule in rules {
            if rule.family == .inet { s.ipv4Rules += 1 } else { s.ipv6Rules += 1 }
        }
        s.localEndpoints = endpointCounts.count
        return s
    }

    public struct Summary: Hashable, Sendable {
        public var links = 0
        public var ipv4Addresses = 0
        public var ipv6Addresses = 0
        public var ipv4Routes = 0
        public var ipv6Routes = 0
        public var ipv4Rules = 0
        public var ipv6Rules = 0
        public var localEndpoints = 0
        public init() {}
    }

    private mutating func countEndpoint(_ address: IPAddress, _ delta: Int) {
        let n = endpointCounts[address, default: 0] + delta
        if n > 0 { endpointCounts[address] = n } else { endpointCounts.removeValue(forKey: address) }
    }

    private mutating func updateContainerEndpoint(_ key: Route.Key, _ route: Route?) {
        if let old = containerEndpoints.removeValue(forKey: key) { countEndpoint(old, -1) }
        guard let route, isContainerHostRoute(route) else { return }
        containerEndpoints[key] = route.destination.address
        countEndpoint(route.destination.address, +1)
    }

    /// A unicast host route with no gateway to a container-kind link, e.g. the CNI's
    /// `10.0.1.21 dev eni1a2b scope link` or `fd00::21 dev cali0 metric 1024`.
    private func isContainerHostRoute(_ route: Route) -> Bool {
        guard route.type == .unicast, route.destination.length == route.destination.address.bitWidth,
            route.pathCount == 1, route.gateway == nil, let oif = route.outputInterface,
            let kind = links[oif]?.kind
        else { return false }
        return Self.containerLinkKinds.contains(kind)
    }
}
