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
        #expect(plan.items[0].conflict?.contains("owned by protocol static") == true)
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
    @Test func installsBeyondTheLimitWithinTheWindowAreFlapping() {
        var history = RepairHistory(maxInstallsPerWindow: 2, window: 600)
        let t0 = Date(timeIntervalSince1970: 0)
        #expect(history.mayInstall("k", at: t0))
        history.recordInstall("k", at: t0)
        let removed = history.recordMissing("k")
        #expect(removed, "it had been installed, so this is a removal")
        history.recordInstall("k", at: t0.addingTimeInterval(10))
        #expect(history.isFlapping("k", at: t0.addingTimeInterval(20)))
        #expect(!history.isFlapping("k", at: t0.addingTimeInterval(700)), "the window passes")
        #expect(history.entry("k").removals == 1)
    }

    @Test func missingBeforeAnyInstallIsNotARemoval() {
        var history = RepairHistory(maxInstallsPerWindow: 3, window: 600)
        let beforeAnyInstall = history.recordMissing("k")
        #expect(!beforeAnyInstall)
        history.recordHolding("k", throughPathwatchRoute: false)
        let someoneElses = history.recordMissing("k")
        #expect(!someoneElses, "someone else's route came and went")
        history.recordHolding("k", throughPathwatchRoute: true)
        let ours = history.recordMissing("k")
        #expect(ours, "ours, found after a restart, then removed")
    }

    @Test func forgottenKeysAreDropped() {
        var history = RepairHistory(maxInstallsPerWindow: 3, window: 600)
        history.recordInstall("a", at: Date())
        history.recordInstall("b", at: Date())
        history.retain(only: ["b"])
        #expect(history.entries.keys.sorted() == ["b"])
    }
}
