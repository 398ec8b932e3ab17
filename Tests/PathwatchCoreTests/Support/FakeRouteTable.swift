import Netlink

@testable import PathwatchCore

/// An in-memory kernel routing state behind ``RouteTableClient`` (calico's `NewWithShims`
/// idea): rules by priority, longest-prefix match per table, create-exclusive adds, deletes by
/// exact key and protocol, and refusals injected per change.
final class FakeRouteTable: RouteTableClient {
    var links: [Link]
    var addresses: [InterfaceAddress]
    var routes: [Route] = []
    /// Rules besides the implicit `32766: from all lookup main`.
    var rules: [Rule] = []
    /// A refusal for a change, or nil to let it through.
    var refuse: (RouteChange) -> RouteChangeRefusal? = { _ in nil }
    /// Runs before each change is made (say, to switch auto-fix off mid-pass).
    var beforeApply: (RouteChange) -> Void = { _ in }
    /// Neighbour-table entries by interface and address.
    var neighbours: [InterfaceIndex: [IPAddress: NeighbourState]] = [:]
    /// Every change attempted, refused ones included.
    private(set) var attempts: [RouteChange] = []

    init(links: [Link], addresses: [InterfaceAddress], routes: [Route]) {
        self.links = links
        self.addresses = addresses
        self.routes = routes
    }

    func lookup(to destination: IPAddress, from source: IPAddress) -> RouteLookupOutcome {
        let all = rules + [Rule(family: destination.family, priority: 32766, table: .main)]
        for rule in all.sorted(by: { $0.priority < $1.priority }) {
            guard rule.source.map({ $0.contains(source) }) ?? true, rule.destination.map({ $0.contains(destination) }) ?? true else {
                continue
            }
            let candidates = routes.filter { $0.table == rule.table && $0.destination.contains(destination) }
            guard
                let best = candidates.max(by: {
                    ($0.destination.length, -Int($0.priority ?? 0)) < ($1.destination.length, -Int($1.priority ?? 0))
                })
            else { continue }
            switch best.type {
            case .unicast: return .route(interface: best.outputInterface, gateway: best.gateway, table: best.table)
            case .blackhole: return .refused(errno: 22, message: "Invalid argument")
            case .prohibit: return .refused(errno: 13, message: "Permission denied")
            default: return .refused(errno: 113, message: "No route to host")
            }
        }
        return .unreachable("Network is unreachable")
    }

    /// The model's view of ``neighbours``, as the neighbour watcher would build it.
    func neighbourView() -> NeighbourView {
        var view = NeighbourView()
        for (interface, entries) in neighbours {
            for (address, state) in entries {
                view.apply(Neighbour(family: address.family, interface: interface, state: state, address: address), removed: false)
            }
        }
        return view
    }

    func apply(_ change: RouteChange) throws(RouteChangeRefusal) {
        attempts.append(change)
        if let refusal = refuse(change) { throw refusal }
        beforeApply(change)
        switch change {
        case .addRoute(let route):
            if routes.contains(where: { $0.key == route.key }) { throw RouteChangeRefusal(errno: 17, message: "File exists") }
            routes.append(route)
        case .deleteRoute(let route):
            guard let i = routes.firstIndex(where: { $0.key == route.key && $0.protocolID == route.protocolID }) else {
                throw RouteChangeRefusal(errno: 3, message: "No such process")
            }
            routes.remove(at: i)
        case .addRule(let rule):
            if rules.contains(rule) { throw RouteChangeRefusal(errno: 17, message: "File exists") }
            rules.append(rule)
        case .deleteRule(let rule):
            guard let i = rules.firstIndex(of: rule) else { throw RouteChangeRefusal(errno: 2, message: "No such file or directory") }
            rules.remove(at: i)
        }
    }

    /// The model the rtnetlink watcher would build from this state.
    func model() -> NodeState {
        var state = NodeState()
        for link in links { state.apply(.linkChanged(link)) }
        for address in addresses { state.apply(.addressAdded(address)) }
        for route in routes { state.apply(.routeAdded(route)) }
        for rule in rules { state.apply(.ruleAdded(rule)) }
        return state
    }
}

/// Drives ``SubnetRouteReconciler`` against a ``FakeRouteTable`` the way the repairer drives it
/// against the kernel: model → expectations → lookups → plan → reconcile, with a clock the test
/// advances.
final class RouteLab {
    static let net0 = Link(index: InterfaceIndex(2), name: "net0", flags: [.up], operState: .up)
    static let net1 = Link(index: InterfaceIndex(3), name: "net1", flags: [.up], operState: .up)

    let table: FakeRouteTable
    var reconciler: SubnetRouteReconciler<FakeRouteTable>
    var subnetRoutes: [String: [IPPrefix]] = ["net1": [IPPrefix("10.5.2.0/24")!]]
    var gateways: [String: IPAddress] = [:]
    var settings = AgentConfig.RepairSettings()
    var mode = AutofixMode.on
    var now = ContinuousClock.Instant.now
    var sourcesSettled = true
    /// Every event of every pass, in order.
    private(set) var events: [SubnetRouteEvent] = []

    /// The incident: net0 10.4.1.10/24 with the default route, net1 10.4.2.10/24.
    init() {
        let net0 = Self.net0.index
        let net1 = Self.net1.index
        table = FakeRouteTable(
            links: [Self.net0, Self.net1],
            addresses: [
                InterfaceAddress(interface: net0, address: IPAddress("10.4.1.10")!, prefixLength: 24),
                InterfaceAddress(interface: net1, address: IPAddress("10.4.2.10")!, prefixLength: 24),
            ],
            routes: [
                Route(destination: IPPrefix("10.4.1.0/24")!, protocolID: .kernel, scope: .link, nextHops: [NextHop(interface: net0)]),
                Route(destination: IPPrefix("10.4.2.0/24")!, protocolID: .kernel, scope: .link, nextHops: [NextHop(interface: net1)]),
                Route(destination: IPPrefix("0.0.0.0/0")!, nextHops: [NextHop(gateway: IPAddress("10.4.1.1"), interface: net0)]),
            ])
        reconciler = SubnetRouteReconciler(client: table)
    }

    /// One evaluation; returns its events.
    @discardableResult
    func pass() -> [SubnetRouteEvent] {
        let state = table.model()
        let expectations = SubnetRouteExpectation.all(in: state, subnetRoutes: subnetRoutes, gateways: gateways)
        var lookups: [String: RouteLookupOutcome] = [:]
        for e in expectations { lookups[e.key] = table.lookup(to: e.probe, from: e.source) }
        let plan = SubnetRoutePlanner.plan(expectations: expectations, lookups: lookups, state: state, settings: settings)
        let context = SubnetRouteReconciler<FakeRouteTable>.Context(
            settings: settings, names: state.links.mapValues(\.name), sourcesSettled: sourcesSettled, mode: { [unowned self] in self.mode },
            likelyCause: { "a test removes it" }, now: now, neighbours: table.neighbourView())
        let new = reconciler.evaluate(plan, context)
        events += new
        return new
    }

    func advance(_ duration: Duration) { now = now + duration }

    /// The repairer's once-a-second gateway check, over the model's neighbour view.
    func checkGateways() -> [SubnetRouteEvent] { reconciler.checkGateways(at: now, neighbours: table.neighbourView()) }

    var statistics: SubnetRouteStatistics { reconciler.engine.statistics }
    func count(_ result: RouteRepairResult) -> Int { statistics.repairs[result] ?? 0 }

    /// The finding reports of `events`, newest last.
    static func findings(_ events: [SubnetRouteEvent]) -> [MissingSubnetRouteReport] {
        events.compactMap { if case .finding(let report, _) = $0 { report } else { nil } }
    }

    func ours() -> [Route] { table.routes.filter { $0.protocolID == .pathwatch } }
    func route(_ destination: String, table id: RouteTable = .main) -> Route? {
        table.routes.first { $0.destination == IPPrefix(destination)! && $0.table == id }
    }
}
