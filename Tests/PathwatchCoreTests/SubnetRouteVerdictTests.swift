import Netlink
import Testing

@testable import PathwatchCore

/// Issue 14: the expectation is "leaves by the interface *via its subnet gateway*". The
/// half-fixes a human makes (an on-link route, a route via another gateway, a blackhole) are
/// findings that name what is there; main-table never overrides them, policy-routing fixes the
/// traffic alongside them without touching them.
@Suite("Subnet route verdicts")
struct SubnetRouteVerdictTests {
    static func foreign(_ type: RouteType = .unicast, gateway: String? = nil, dev: InterfaceIndex? = RouteLab.net1.index) -> Route {
        Route(
            destination: IPPrefix("10.5.2.0/24")!, protocolID: .static, scope: gateway == nil ? .link : .universe, type: type,
            nextHops: type == .unicast ? [NextHop(gateway: gateway.map { IPAddress($0)! }, interface: dev)] : [])
    }

    @Test func anOnLinkRouteToAnotherSubnetIsMissingAndBlocksMainTable() {
        let lab = RouteLab()
        lab.table.routes.append(Self.foreign())
        let before = lab.table.routes
        let events = lab.pass()
        let report = RouteLab.findings(events).last
        #expect(report?.evidence.lookup == "ip route get 10.5.2.1 from 10.4.2.10: leaves by net1 on-link, without a gateway")
        #expect(report?.remediation.blockedBy?.route == "10.5.2.0/24 dev net1 proto static")
        #expect(report?.remediation.text.contains("every packet dies in the neighbour table") == true)
        #expect(report?.remediation.text.contains("`ip route replace 10.5.2.0/24 via 10.4.2.1 dev net1`") == true)
        #expect(lab.count(.blocked) == 1, "main-table cannot replace a route it does not own")
        #expect(lab.count(.conflict) == 0)
        #expect(lab.table.routes == before, "the foreign route stays byte for byte")
    }

    @Test func aRouteViaAnotherGatewayOnTheRightInterfaceIsMissing() {
        let lab = RouteLab()
        lab.mode = .off
        lab.table.routes.append(Self.foreign(gateway: "10.4.2.99"))
        let report = RouteLab.findings(lab.pass()).last
        #expect(report?.evidence.lookup.hasSuffix("leaves by net1 via 10.4.2.99") == true)
        #expect(report?.remediation.text.contains("declare it under subnetGateways") == true)
        #expect(lab.statistics.missing.values.allSatisfy { $0 })
    }

    @Test func aBlackholeIsNamedInTheFinding() {
        let lab = RouteLab()
        lab.table.routes.append(Self.foreign(.blackhole, dev: nil))
        let report = RouteLab.findings(lab.pass()).last
        #expect(report?.remediation.blockedBy?.type == "blackhole")
        #expect(report?.remediation.blockedBy?.route == "blackhole 10.5.2.0/24 proto static")
        #expect(lab.table.attempts.isEmpty)
        // doctor's paragraph names the refusal, the route and what to do.
        #expect(
            report?.remediation.text.hasPrefix(
                "The kernel refuses this traffic outright: a blackhole route `blackhole 10.5.2.0/24 proto static` covers 10.5.2.0/24")
                == true,
            "\(report?.remediation.text ?? "")")
        #expect(report?.remediation.text.contains("`ip route replace 10.5.2.0/24 via 10.4.2.1 dev net1`") == true)
    }

    /// A wider unreachable route (not on the expectation's prefix, so not in the way of a
    /// repair) is named from the lookup, and the paragraph says how to find it.
    @Test func aWiderUnreachableRouteIsExplained() {
        let lab = RouteLab()
        lab.mode = .off
        lab.table.routes.append(Route(destination: IPPrefix("10.5.0.0/16")!, protocolID: .static, type: .unreachable))
        let report = RouteLab.findings(lab.pass()).last
        #expect(report?.remediation.blockedBy == nil)
        #expect(
            report?.remediation.text.hasPrefix(
                "The kernel refuses this traffic outright: an unreachable route (`ip route show match 10.5.2.1` names it) covers 10.5.2.0/24"
            )
                == true, "\(report?.remediation.text ?? "")")
    }

    @Test func policyRoutingFixesItAlongsideTheForeignRoute() {
        let lab = RouteLab()
        lab.settings.strategy = .policyRouting
        let onLink = Self.foreign()
        lab.table.routes.append(onLink)
        lab.pass()
        #expect(lab.count(.success) == 1)
        #expect(lab.count(.conflict) == 0)
        #expect(lab.count(.blocked) == 0)
        #expect(lab.route("10.5.2.0/24") == onLink, "untouched")
        #expect(
            lab.table.lookup(to: IPAddress("10.5.2.1")!, from: IPAddress("10.4.2.10")!)
                == .route(
                    interface: RouteLab.net1.index, gateway: IPAddress("10.4.2.1"), table: RouteTable(rawValue: 10_003)))
        #expect(lab.pass().contains(.cleared(lab.expectation.id, stillExpected: true)))
    }

    /// A foreign route inside pathwatch's own policy table is a `conflict`, not `blocked`: the
    /// two results stay disjoint, so a sum over `result` counts each episode once.
    @Test func aForeignRouteInPathwatchsOwnTableIsAConflictNotBlocked() {
        let lab = RouteLab()
        lab.settings.strategy = .policyRouting
        var squatter = Self.foreign(gateway: "10.4.2.99")
        squatter.table = RouteTable(rawValue: 10_003)
        lab.table.routes.append(squatter)
        let report = RouteLab.findings(lab.pass()).last
        lab.pass()
        #expect(lab.count(.conflict) == 1)
        #expect(lab.count(.blocked) == 0)
        #expect(report?.remediation.blockedBy?.table == "10003")
        #expect(lab.route("10.5.2.0/24", table: RouteTable(rawValue: 10_003)) == squatter, "untouched")
    }

    @Test func theFindingClearsWhenSomeoneElseFixesIt() {
        let lab = RouteLab()
        lab.mode = .off
        lab.table.routes.append(Self.foreign())
        lab.pass()
        lab.table.routes.removeAll { $0.protocolID == .static }
        lab.table.routes.append(Self.foreign(gateway: "10.4.2.1"))
        #expect(lab.pass().contains(.cleared(lab.expectation.id, stillExpected: true)))
    }

    @Test func aPolicyRuleSendingItElsewhereIsNamed() {
        let lab = RouteLab()
        lab.mode = .off
        lab.table.rules.append(
            Rule(family: .inet, priority: 100, destination: IPPrefix("10.5.2.0/24")!, table: RouteTable(rawValue: 50), protocolID: .static))
        lab.table.routes.append(
            Route(
                destination: IPPrefix("10.5.0.0/16")!, table: RouteTable(rawValue: 50), protocolID: .static,
                nextHops: [NextHop(gateway: IPAddress("10.4.1.1"), interface: RouteLab.net0.index)]))
        let report = RouteLab.findings(lab.pass()).last
        #expect(report?.evidence.lookup.hasSuffix("leaves by net0 via 10.4.1.1 (table 50)") == true)
        #expect(report?.evidence.rule == "100: from all to 10.5.2.0/24 lookup 50 proto static")
        #expect(report?.remediation.text.hasPrefix("Policy rule `100: from all to 10.5.2.0/24 lookup 50 proto static`") == true)
    }

    /// Issue 14: a gateway that does not answer ARP is its own finding, not a missing route.
    @Test func aGatewayThatDoesNotAnswerIsItsOwnFinding() {
        let lab = RouteLab()
        lab.pass()  // repaired via 10.4.2.1
        lab.pass()  // and holds
        let net1 = RouteLab.net1.index
        let gateway = IPAddress("10.4.2.1")!
        lab.table.neighbours[net1] = [gateway: .failed]
        let failed = lab.checkGateways()
        guard case .gatewayUnanswered(let report, let opened)? = failed.first else {
            Issue.record("no gateway finding: \(failed)")
            return
        }
        #expect(opened)
        #expect(report.id.description == "gateway net1 10.4.2.1")
        #expect(report.evidence.destinations == ["10.5.2.0/24"])
        #expect(report.evidence.lookup == "ip neigh get 10.4.2.1 dev net1: FAILED")
        #expect(lab.statistics.missing.values.allSatisfy { !$0 }, "the route itself is right")
        lab.table.neighbours[net1] = [gateway: .incomplete]
        lab.advance(.seconds(1))
        #expect(
            lab.checkGateways().first.map { if case .gatewayUnanswered(_, false) = $0 { true } else { false } }
                == true, "still unanswered")
        lab.table.neighbours[net1] = [gateway: .failed]
        #expect(
            lab.checkGateways().first.map { if case .gatewayUnanswered(_, false) = $0 { true } else { false } }
                == true)
        lab.table.neighbours[net1] = [gateway: .reachable]
        #expect(lab.checkGateways() == [.gatewayAnswers(report.id)])
        // Resolution under way is not a failure until it has lasted the kernel's timeout.
        lab.table.neighbours[net1] = [gateway: .incomplete]
        #expect(lab.checkGateways().isEmpty)
        lab.advance(.seconds(2))
        #expect(lab.checkGateways().isEmpty)
        lab.advance(.seconds(1))
        #expect(
            lab.checkGateways().first.map { if case .gatewayUnanswered(_, true) = $0 { true } else { false } } == true
        )
    }

    @Test func aGatewayNothingRoutesThroughAnyMoreLosesItsFinding() {
        let lab = RouteLab()
        lab.pass()
        lab.table.neighbours[RouteLab.net1.index] = [IPAddress("10.4.2.1")!: .failed]
        _ = lab.checkGateways()
        lab.subnetRoutes = [:]
        let events = lab.pass()
        #expect(events.contains { if case .gatewayAnswers = $0 { true } else { false } })
    }

    /// A secondary address shares the expectation's identity: one repair, counted once, and no
    /// duplicate connected route refused by the kernel.
    @Test(arguments: [RepairStrategy.mainTable, .policyRouting])
    func aSecondaryAddressIsRepairedOnceWithoutRefusals(_ strategy: RepairStrategy) {
        let lab = RouteLab()
        lab.settings.strategy = strategy
        lab.table.addresses.append(InterfaceAddress(interface: RouteLab.net1.index, address: IPAddress("10.4.2.11")!, prefixLength: 24))
        for _ in 0..<3 {
            lab.pass()
            lab.advance(.seconds(1))
        }
        #expect(lab.count(.success) == 1)
        #expect(lab.count(.failed) == 0)
        for source in ["10.4.2.10", "10.4.2.11"] {
            guard case .route(let interface, let gateway, _) = lab.table.lookup(to: IPAddress("10.5.2.1")!, from: IPAddress(source)!) else {
                Issue.record("no route from \(source)")
                continue
            }
            #expect(interface == RouteLab.net1.index && gateway == IPAddress("10.4.2.1"), "from \(source)")
        }
    }
}
