import Foundation
import Netlink
import Testing

@testable import PathwatchCore

/// The planner is pure: model + lookups + settings in, findings and route changes out.
@Suite("Subnet route planner")
struct SubnetRoutePlannerTests {
    let net0 = Link(index: InterfaceIndex(2), name: "net0", flags: [.up], operState: .up)
    let net1 = Link(index: InterfaceIndex(3), name: "net1", flags: [.up], operState: .up)

    func incidentNode() -> NodeState {
        var state = NodeState()
        state.apply(.linkChanged(net0))
        state.apply(.linkChanged(net1))
        state.apply(.addressAdded(InterfaceAddress(interface: net0.index, address: IPAddress("10.4.1.10")!, prefixLength: 24)))
        state.apply(.addressAdded(InterfaceAddress(interface: net1.index, address: IPAddress("10.4.2.10")!, prefixLength: 24)))
        state.apply(.addressAdded(InterfaceAddress(interface: net1.index, address: IPAddress("fe80::1")!, prefixLength: 64)))
        return state
    }

    let peer = ["net1": [IPPrefix("10.5.2.0/24")!]]

    @Test func expectationsUseTheSubnetsFirstHostAsGateway() {
        let expectations = SubnetRouteExpectation.all(in: incidentNode(), subnetRoutes: peer, gateways: [:])
        #expect(expectations.count == 1, "the IPv6 link-local address is not a source for subnet traffic")
        let e = expectations[0]
        #expect(e.interface == "net1")
        #expect(e.source == IPAddress("10.4.2.10"))
        #expect(e.gateway == IPAddress("10.4.2.1"))
        #expect(e.probe == IPAddress("10.5.2.1"))
        #expect(e.key == "net1 10.5.2.0/24")
    }

    @Test func aConfiguredGatewayWins() {
        let e = SubnetRouteExpectation.all(in: incidentNode(), subnetRoutes: peer, gateways: ["net1": IPAddress("10.4.2.254")!])
        #expect(e.first?.gateway == IPAddress("10.4.2.254"))
    }

    @Test func anAbsentInterfaceYieldsNothingUntilItAppears() {
        #expect(SubnetRouteExpectation.all(in: NodeState(), subnetRoutes: peer, gateways: [:]).isEmpty)
    }

    /// Only a missing expectation's fix can be blocked by a foreign route: when every
    /// expectation holds, no evaluation walks the route table for them.
    @Test func onlyMissingExpectationsNeedTheForeignRouteWalk() {
        let expectations = SubnetRouteExpectation.all(
            in: incidentNode(), subnetRoutes: ["net1": [IPPrefix("10.5.2.0/24")!, IPPrefix("10.6.0.0/16")!]], gateways: [:])
        let fixes = expectations.map { SubnetRoutePlanner.fixObjects(for: $0, settings: .init()) }
        let missing = SubnetRoutePlanner.Item.Status.missing(observed: "leaves by net0")
        #expect(SubnetRoutePlanner.slotsToCheck(fixes: fixes, statuses: [.ok, .ok]).isEmpty)
        let slots = SubnetRoutePlanner.slotsToCheck(fixes: fixes, statuses: [.ok, missing])
        #expect(slots.map(\.destination) == [expectations[1].destination])
        #expect(SubnetRoutePlanner.slotsToCheck(fixes: fixes, statuses: [missing, missing]).count == 2)
    }

    @Test func leavingByTheWrongInterfaceIsMissingWithTheIncidentsFix() {
        let state = incidentNode()
        let expectations = SubnetRouteExpectation.all(in: state, subnetRoutes: peer, gateways: [:])
        let lookups: [String: RouteLookupOutcome] = [
            "net1 10.5.2.0/24": .route(interface: net0.index, gateway: IPAddress("10.4.1.1"), table: .main)
        ]
        let plan = SubnetRoutePlanner.plan(expectations: expectations, lookups: lookups, state: state, settings: .init())
        let item = plan.items[0]
        #expect(item.status == .missing(observed: "leaves by net0 via 10.4.1.1"))
        #expect(item.fix.map { $0.command(names: [net1.index: "net1"]) } == ["ip route add 10.5.2.0/24 via 10.4.2.1 dev net1 proto 196"])
        guard case .addRoute(let route) = item.fix[0] else {
            Issue.record("expected a route")
            return
        }
        #expect(route.protocolID == .pathwatch)
        #expect(route.table == .main)
        #expect(plan.cleanup.isEmpty)
    }

    @Test func leavingByTheRightInterfaceIsOK() {
        let state = incidentNode()
        let expectations = SubnetRouteExpectation.all(in: state, subnetRoutes: peer, gateways: [:])
        let lookups: [String: RouteLookupOutcome] = [
            "net1 10.5.2.0/24": .route(interface: net1.index, gateway: IPAddress("10.4.2.1"), table: .main)
        ]
        let plan = SubnetRoutePlanner.plan(expectations: expectations, lookups: lookups, state: state, settings: .init())
        #expect(plan.items[0].status == .ok)
        #expect(plan.items[0].fix.isEmpty)
    }

    @Test func noRouteAtAllIsMissing() {
        let state = incidentNode()
        let expectations = SubnetRouteExpectation.all(in: state, subnetRoutes: peer, gateways: [:])
        let plan = SubnetRoutePlanner.plan(
            expectations: expectations, lookups: ["net1 10.5.2.0/24": .unreachable("Network is unreachable")], state: state,
            settings: .init())
        #expect(plan.items[0].status == .missing(observed: "no route: Network is unreachable"))
        #expect(plan.items[0].fix.count == 1)
    }

    @Test func aForeignRouteInTheWayIsAConflictNotAChange() {
        var state = incidentNode()
        state.apply(
            .routeAdded(
                Route(
                    destination: IPPrefix("10.5.2.0/24")!, protocolID: .static,
                    nextHops: [NextHop(gateway: IPAddress("10.4.1.1"), interface: net0.index)])))
        let expectations = SubnetRouteExpectation.all(in: state, subnetRoutes: peer, gateways: [:])
        let plan = SubnetRoutePlanner.plan(
            expectations: expectations, lookups: ["net1 10.5.2.0/24": .route(interface: net0.index, gateway: nil, table: .main)],
            state: state,
            settings: .init())
        #expect(plan.items[0].fix.isEmpty)
        #expect(plan.items[0].conflict?.description.contains("owned by protocol static") == true)
        #expect(plan.cleanup.isEmpty, "a foreign route is never cleaned up")
    }

    @Test func policyRoutingAddsARuleAndARouteInTheInterfacesTable() {
        let state = incidentNode()
        var settings = AgentConfig.RepairSettings()
        settings.strategy = .policyRouting
        let expectations = SubnetRouteExpectation.all(in: state, subnetRoutes: peer, gateways: [:])
        let plan = SubnetRoutePlanner.plan(
            expectations: expectations, lookups: ["net1 10.5.2.0/24": .route(interface: net0.index, gateway: nil, table: .main)],
            state: state,
            settings: settings)
        #expect(
            plan.items[0].fix.map { $0.command(names: [net1.index: "net1"]) } == [
                "ip rule add from 10.4.2.10/32 lookup 10003 priority 10000 protocol 196",
                "ip route add 10.4.2.0/24 dev net1 table 10003 proto 196",
                "ip route add 10.5.2.0/24 via 10.4.2.1 dev net1 table 10003 proto 196",
            ])
    }

    @Test func ourOwnRoutesThatNoExpectationNeedsAreCleanedUpAndOnlyThose() {
        var state = incidentNode()
        let stale = Route(
            destination: IPPrefix("10.9.0.0/16")!, protocolID: .pathwatch,
            nextHops: [NextHop(gateway: IPAddress("10.4.2.1"), interface: net1.index)])
        let foreign = Route(
            destination: IPPrefix("10.8.0.0/16")!, protocolID: .static,
            nextHops: [NextHop(gateway: IPAddress("10.4.1.1"), interface: net0.index)])
        let staleRule = Rule(
            family: .inet, priority: 10_000, source: IPPrefix("10.4.9.9/32")!, table: RouteTable(rawValue: 10_009), protocolID: .pathwatch)
        state.apply(.routeAdded(stale))
        state.apply(.routeAdded(foreign))
        state.apply(.ruleAdded(staleRule))
        let plan = SubnetRoutePlanner.plan(expectations: [], lookups: [:], state: state, settings: .init())
        #expect(Set(plan.cleanup) == [.deleteRoute(stale), .deleteRule(staleRule)])
    }

    @Test func ourRouteAlreadyInPlaceIsNotAddedAgain() {
        var state = incidentNode()
        let expectations = SubnetRouteExpectation.all(in: state, subnetRoutes: peer, gateways: [:])
        guard case .addRoute(let ours) = SubnetRoutePlanner.fixObjects(for: expectations[0], settings: .init())[0] else { return }
        state.apply(.routeAdded(ours))
        // It is there, yet traffic still leaves elsewhere (say a rule sends it to another table):
        let plan = SubnetRoutePlanner.plan(
            expectations: expectations,
            lookups: ["net1 10.5.2.0/24": .route(interface: net0.index, gateway: nil, table: RouteTable(rawValue: 7))],
            state: state, settings: .init())
        #expect(plan.items[0].isMissing)
        #expect(plan.items[0].fix.isEmpty)
        #expect(plan.cleanup.isEmpty, "a route an expectation needs is not cleaned up")
    }

    @Test func ipv6RoutesCarryTheKernelsDefaultMetric() {
        var state = incidentNode()
        state.apply(.addressAdded(InterfaceAddress(interface: net1.index, address: IPAddress("fd00:4:2::10")!, prefixLength: 64)))
        let expectations = SubnetRouteExpectation.all(in: state, subnetRoutes: ["net1": [IPPrefix("fd00:5:2::/64")!]], gateways: [:])
        #expect(expectations.count == 1)
        #expect(expectations[0].gateway == IPAddress("fd00:4:2::1"))
        guard case .addRoute(let route) = SubnetRoutePlanner.fixObjects(for: expectations[0], settings: .init())[0] else { return }
        #expect(route.priority == 1024)
    }
}

@Suite("Repair history")
struct RepairHistoryTests {
    let key = SubnetRouteExpectation.ID(interface: "net1", destination: IPPrefix("10.5.2.0/24")!)
    let t0 = ContinuousClock.Instant.now

    func settings(max: Int) -> AgentConfig.RepairSettings {
        var s = AgentConfig.RepairSettings()
        s.maxInstallsPerWindow = max
        return s
    }

    @Test func verifiedInstallsReachingTheLimitWithinTheWindowAreFlapping() {
        var history = RepairHistory()
        #expect(!history.isFlapping(key, at: t0, settings: settings(max: 2)))
        history.recordVerifiedInstall(key, at: t0, settings: settings(max: 2))
        let removed = history.recordMissing(key)
        #expect(removed, "it had been installed, so this is a removal")
        history.recordVerifiedInstall(key, at: t0 + .seconds(10), settings: settings(max: 2))
        #expect(history.isFlapping(key, at: t0 + .seconds(20), settings: settings(max: 2)))
        #expect(!history.isFlapping(key, at: t0 + .seconds(20), settings: settings(max: 3)), "a reloaded limit applies at once")
        #expect(!history.isFlapping(key, at: t0 + .seconds(700), settings: settings(max: 2)), "the window passes")
        #expect(history.entry(key).removals == 1)
    }

    @Test func missingBeforeAnyInstallIsNotARemoval() {
        var history = RepairHistory()
        let beforeAnyInstall = history.recordMissing(key)
        #expect(!beforeAnyInstall)
        history.recordHolding(key, throughPathwatchRoute: false)
        let someoneElses = history.recordMissing(key)
        #expect(!someoneElses, "someone else's route came and went")
        history.recordHolding(key, throughPathwatchRoute: true)
        let ours = history.recordMissing(key)
        #expect(ours, "ours, found after a restart, then removed")
    }

    @Test func failuresBackOffExponentiallyUpToTheCap() {
        var history = RepairHistory()
        var delays: [Duration] = []
        for _ in 0..<12 {
            history.recordFailure(key, at: t0)
            delays.append(history.entry(key).backoff)
        }
        #expect(delays.prefix(4) == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4)])
        #expect(delays.last == RepairHistory.maximumBackoff)
        #expect(history.isBackingOff(key, at: t0 + .seconds(299)))
        history.recordHolding(key, throughPathwatchRoute: false)
        #expect(!history.isBackingOff(key, at: t0), "holding again clears the backoff")
    }

    @Test func forgottenKeysAreDropped() {
        var history = RepairHistory()
        let other = SubnetRouteExpectation.ID(interface: "net2", destination: IPPrefix("10.6.0.0/16")!)
        history.recordVerifiedInstall(key, at: t0, settings: .init())
        history.recordVerifiedInstall(other, at: t0, settings: .init())
        history.retain(only: [other])
        #expect(Array(history.entries.keys) == [other])
    }
}
