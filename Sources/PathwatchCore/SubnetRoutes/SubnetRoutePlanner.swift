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
        /// Why the fix cannot be applied: a route someone else owns is in the way.
        public var conflict: Conflict?
        /// Whether pathwatch's route for it is in the model: an expectation that holds through it
        /// and later goes missing without it had its repair removed; one missing while it is
        /// still there (a gateway changed, a rule sends the traffic elsewhere) did not.
        public var heldByPathwatch = false
        /// For a missing expectation whose lookup ended in a table other than main: the policy
        /// rule that sent it there, as the model knows it.
        public var selectedBy: Rule?
        /// What the kernel's lookup answered, for the finding's explanation.
        public var lookup: RouteLookupOutcome?

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
        let fixes = expectations.map { fixObjects(for: $0, settings: settings) }
        let statuses = expectations.map { status(of: $0, lookup: lookups[$0.key], names: names) }
        var desiredRoutes: Set<Route.Key> = []
        var desiredRules: Set<Rule> = []
        for case .addRoute(let route) in fixes.joined() { desiredRoutes.insert(route.key) }
        for case .addRule(let rule) in fixes.joined() { desiredRules.insert(rule) }
        // Foreign routes matter only where a fix would go in: on a node whose expectations all
        // hold, no evaluation walks the route table (a million routes on a busy node, and an
        // evaluation after every route event).
        let foreign = foreignRoutes(on: slotsToCheck(fixes: fixes, statuses: statuses), in: state)
        var items: [Item] = []
        for ((expectation, objects), status) in zip(zip(expectations, fixes), statuses) {
            let held = objects.contains { change in
                if case .addRoute(let route) = change { return state.routes[route.key]?.protocolID == .pathwatch }
                return false
            }
            guard case .missing = status else {
                items.append(Item(expectation: expectation, status: status, fix: [], conflict: nil, heldByPathwatch: held))
                continue
            }
            var fix: [RouteChange] = []
            var conflict: Conflict?
            for object in objects {
                switch object {
                case .addRoute(let route):
                    // Any foreign route on the same prefix in the same table, whatever its metric:
                    // installing ahead of it would silently override someone else's routing.
                    if let existing = foreign[Slot(route)] {
                        conflict = Conflict(route: existing)
                        continue
                    }
                    if let existing = state.routes[route.key] {
                        if existing.nextHops == route.nextHops { continue }  // ours, in place
                        // Ours via an old gateway (subnetGateways changed): replace it.
                        fix.append(.deleteRoute(existing))
                    }
                    fix.append(object)
                case .addRule(let rule):
                    if !state.rules.contains(rule) { fix.append(object) }
                default:
                    fix.append(object)
                }
            }
            var item = Item(
                expectation: expectation, status: status, fix: conflict == nil ? fix : [], conflict: conflict, heldByPathwatch: held)
            item.lookup = lookups[expectation.key]
            if case .route(_, _, let table)? = lookups[expectation.key], table != .main {
                item.selectedBy = selectingRule(for: expectation, table: table, in: state)
            }
            items.append(item)
        }
        var cleanup: [RouteChange] = []
        for key in state.routeIndexes.own where !desiredRoutes.contains(key) {
            if let route = state.routes[key] { cleanup.append(.deleteRoute(route)) }
        }
        for rule in state.rules where rule.protocolID == .pathwatch && !desiredRules.contains(rule) {
            cleanup.append(.deleteRule(rule))
        }
        cleanup.sort { "\($0)" < "\($1)" }
        return Plan(items: items, cleanup: cleanup)
    }

    /// The first rule, by priority, that would send the expectation's traffic to `table`: what a
    /// finding names when a policy rule sends the traffic elsewhere.
    static func selectingRule(for e: SubnetRouteExpectation, table: RouteTable, in state: borrowing NodeState) -> Rule? {
        state.rules.filter { rule in
            rule.table == table && rule.action == 1 && rule.family == e.source.family && rule.inputInterface == nil
                && rule.firewallMark == nil && (rule.source?.contains(e.source) ?? true) && (rule.destination?.contains(e.probe) ?? true)
        }.min { $0.priority < $1.priority }
    }

    /// A table and prefix: where a foreign route blocks pathwatch's, whatever the metric.
    struct Slot: Hashable {
        var table: RouteTable
        var destination: IPPrefix
        init(_ route: Route) {
            table = route.table
            destination = route.destination
        }
    }

    /// The table-and-prefix slots of the fixes of missing expectations: the only ones a foreign
    /// route can block.
    static func slotsToCheck(fixes: [[RouteChange]], statuses: [Item.Status]) -> Set<Slot> {
        var slots: Set<Slot> = []
        for (objects, status) in zip(fixes, statuses) where status != .ok {
            for case .addRoute(let route) in objects { slots.insert(Slot(route)) }
        }
        return slots
    }

    /// One pass over the model for the foreign routes on the slots pathwatch would use; the
    /// lowest metric wins when there are several.
    static func foreignRoutes(on slots: Set<Slot>, in state: borrowing NodeState) -> [Slot: Route] {
        var found: [Slot: Route] = [:]
        guard !slots.isEmpty else { return found }
        for route in state.routes.values where route.protocolID != .pathwatch && route.source == nil {
            let slot = Slot(route)
            guard slots.contains(slot) else { continue }
            if let other = found[slot], (other.priority ?? 0) <= (route.priority ?? 0) { continue }
            found[slot] = route
        }
        return found
    }

    /// Right when the kernel sends the traffic out of the expected interface via the expected
    /// gateway. An on-link route to another subnet leaves by the right interface but dies in
    /// the neighbour table (nobody answers ARP for an address outside the link's subnet), so it
    /// is not right. IPv6 routers commonly advertise their link-local address, so for IPv6 a
    /// link-local gateway on the right interface counts as the subnet's gateway.
    public static func status(
        of expectation: SubnetRouteExpectation, lookup: RouteLookupOutcome?, names: [InterfaceIndex: String] = [:]
    ) -> Item.Status {
        switch lookup {
        case .route(let interface, let gateway, let table):
            if interface == expectation.interfaceIndex, let gateway,
                gateway == expectation.gateway || (gateway.family == .inet6 && gateway.isLinkLocal)
            {
                return .ok
            }
            var observed = "leaves by " + (interface.map { names[$0] ?? "if\($0.rawValue)" } ?? "no interface")
            if let gateway {
                observed += " via \(gateway)"
            } else if interface == expectation.interfaceIndex {
                observed += " on-link, without a gateway"
            }
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
