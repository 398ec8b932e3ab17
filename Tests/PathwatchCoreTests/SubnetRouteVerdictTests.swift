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
        #expect(lab.count(.conflict) == 1)
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
    }

    @Test func policyRoutingFixesItAlongsideTheForeignRoute() {
        let lab = RouteLab()
        lab.settings.strategy = .policyRouting
        let onLink = Self.foreign()
        lab.table.routes.append(onLink)
        lab.pass()
        #expect(lab.count(.success) == 1)
        #expect(lab.count(.conflict) == 0)
        #expect(lab.route("10.5.2.0/24") == onLink, "untouched")
        #expect(
            lab.table.lookup(to: IPAddress("10.5.2.1")!, from: IPAddress("10.4.2.10")!)
                == .route(
                    interface: RouteLab.net1.index, gateway: IPAddress("10.4.2.1"), table: RouteTable(rawValue: 10_003)))
        #expect(lab.pass().contains(.cleared(lab.expectation.id, stillExpected: true)))
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
}
