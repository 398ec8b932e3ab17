import Netlink

/// Decides, from the model and the kernel's own route lookups, which subnet routes are missing
/// and which changes would fix them. Pure: the same inputs always give the same plan, and it
/// never proposes to touch a route or rule that pathwatch does not own.
public enum SubnetRoutePlanner {
    public struct Item: Hashable, Sendable {
        public enum Status: Hashable, Sendable {
            /// Traffic already leaves by the expected interface.
            case ok
            /// It leaves elsewhere, or nowhere; `observed` says what the kernel answered.
            case missing(observed: String)
        }

        public var expectation: SubnetRouteExpectation
        public var status: Status
        /// What would make it right, as pathwatch-owned objects (empty when nothing is needed
        /// or nothing pathwatch may do would help).
        public var fix: [RouteChange]
        /// Why the fix cannot be applied: a route or rule someone else owns is in the way.
        public var conflict: String?

        public var isMissing: Bool { if case .missing = status { true } else { false } }
    }

    public struct Plan: Hashable, Sendable {
        public var items: [Item]
        /// pathwatch's own routes and rules that no expectation needs any more (config changed,
        /// interface gone): removed in on-mode.
        public var cleanup: [RouteChange]
    }

    public static func plan(
        expectations: [SubnetRouteExpectation], lookups: [String: RouteLookupOutcome], state: borrowing NodeState,
        settings: AgentConfig.RepairSettings
    ) -> Plan {
        let names = state.links.mapValues(\.name)
        var items: [Item] = []
        var desiredRoutes: Set<Route.Key> = []
        var desiredRules: Set<Rule> = []
        for expectation in expectations {
            let objects = fixObjects(for: expectation, settings: settings)
            for case .addRoute(let route) in objects { desiredRoutes.insert(route.key) }
            for case .addRule(let rule) in objects { desiredRules.insert(rule) }
            let status = status(of: expectation, lookup: lookups[expectation.key], names: names)
            guard case .missing = status else {
                items.append(Item(expectation: expectation, status: status, fix: [], conflict: nil))
                continue
            }
            var fix: [RouteChange] = []
            var conflict: String?
            for object in objects {
                switch object {
                case .addRoute(let route):
                    if let existing = state.routes[route.key] {
                        if existing.protocolID == .pathwatch, existing.nextHops == route.nextHops { continue }  // ours, in place
                        if existing.protocolID != .pathwatch {
                            conflict =
                                "a route to \(route.destination) in table \(route.table) owned by protocol \(existing.protocolID) is in the way; pathwatch never changes routes it does not own"
                            continue
                        }
                    }
                    fix.append(object)
                case .addRule(let rule):
                    if !state.rules.contains(rule) { fix.append(object) }
                default:
                    fix.append(object)
                }
            }
            items.append(Item(expectation: expectation, status: status, fix: conflict == nil ? fix : [], conflict: conflict))
        }
        var cleanup: [RouteChange] = []
        for route in state.routes.values where route.protocolID == .pathwatch && !desiredRoutes.contains(route.key) {
            cleanup.append(.deleteRoute(route))
        }
        for rule in state.rules where rule.protocolID == .pathwatch && !desiredRules.contains(rule) {
            cleanup.append(.deleteRule(rule))
        }
        cleanup.sort { "\($0)" < "\($1)" }
        return Plan(items: items, cleanup: cleanup)
    }

    /// Right when the kernel sends the traffic out of the expected interface.
    public static func status(
        of expectation: SubnetRouteExpectation, lookup: RouteLookupOutcome?, names: [InterfaceIndex: String] = [:]
    ) -> Item.Status {
        switch lookup {
        case .route(let interface, let gateway, let table):
            if interface == expectation.interfaceIndex { return .ok }
            var observed = "leaves by " + (interface.map { names[$0] ?? "if\($0.rawValue)" } ?? "no interface")
            if let gateway { observed += " via \(gateway)" }
            if table != .main { observed += " (table \(table))" }
            return .missing(observed: observed)
        case .unreachable(let error):
            return .missing(observed: "no route: \(error)")
        case nil:
            return .missing(observed: "not looked up")
        }
    }

    /// The pathwatch-owned routes (and rule) that make the expectation hold under `settings`.
    public static func fixObjects(for expectation: SubnetRouteExpectation, settings: AgentConfig.RepairSettings) -> [RouteChange] {
        let family = expectation.destination.address.family
        let table: RouteTable =
            settings.strategy == .mainTable
            ? .main : RouteTable(rawValue: settings.policyTableBase + UInt32(expectation.interfaceIndex.rawValue))
        let route = Route(
            destination: expectation.destination, table: table, protocolID: .pathwatch, scope: .universe, type: .unicast,
            // IPv6 routes get metric 1024 from the kernel when none is given; say it, so the
            // route we ask for has the key the kernel reports back.
            priority: family == .inet6 ? 1024 : nil,
            nextHops: [NextHop(gateway: expectation.gateway, interface: expectation.interfaceIndex)])
        guard settings.strategy == .policyRouting else { return [.addRoute(route)] }
        let rule = Rule(
            family: family, priority: settings.policyRulePriority,
            source: IPPrefix(address: expectation.source, length: expectation.source.bitWidth), table: table, action: 1,
            protocolID: .pathwatch)
        // The interface's own subnet, on-link, in its table too: otherwise a wide destination
        // (a whole VPC) would send traffic to the interface's neighbours through the gateway.
        let connected = Route(
            destination: expectation.subnet, table: table, protocolID: .pathwatch, scope: .link, type: .unicast,
            priority: family == .inet6 ? 1024 : nil, preferredSource: family == .inet ? expectation.source : nil,
            nextHops: [NextHop(interface: expectation.interfaceIndex)])
        return [.addRule(rule), .addRoute(connected), .addRoute(route)]
    }
}
