import Netlink
import Testing

@testable import PathwatchCore

/// Every repair decision against an in-memory route table, without root: verify, dry-run,
/// flapping, clean-up, de-duplication.
@Suite("Subnet route reconciler")
struct SubnetRouteReconcilerTests {
    @Test func theIncidentIsRepairedVerifiedAndClosed() {
        let lab = RouteLab()
        let first = lab.pass()
        #expect(lab.ours().map(\.destination) == [IPPrefix("10.5.2.0/24")!])
        #expect(first.contains(.verified(lab.expectation)))
        #expect(RouteLab.findings(first).last?.evidence.repairState == "repaired")
        #expect(lab.count(.success) == 1)
        let second = lab.pass()
        #expect(second.contains(.cleared(lab.expectation.id, stillExpected: true)))
        #expect(lab.statistics.missing.values.allSatisfy { !$0 })
        #expect(lab.table.attempts.count == 1, "nothing more to do")
    }

    @Test func dryRunCountsOnceAndChangesNothing() {
        let lab = RouteLab()
        lab.mode = .dryRun
        for _ in 0..<3 { lab.pass() }
        #expect(lab.table.attempts.isEmpty)
        #expect(lab.count(.dryRun) == 1)
        let logged = lab.events.filter { if case .wouldChange = $0 { true } else { false } }
        #expect(logged.count == 1)
        let findings = RouteLab.findings(lab.events)
        #expect(findings.count == 3)
        #expect(findings.allSatisfy { $0.evidence.repairState == "dry-run" })
        #expect(findings.last?.remediation.commands == ["ip route add 10.5.2.0/24 via 10.4.2.1 dev net1 proto 196"])
        #expect(
            findings.last?.remediation == MissingSubnetRouteRemediation(commands: findings.last?.remediation.commands ?? [], conflict: nil))
        #expect(findings.last?.evidence.rule == nil, "the incident's JSON is unchanged")
        // Off and back: the same fix is not counted again.
        lab.mode = .off
        lab.pass()
        lab.mode = .dryRun
        lab.pass()
        #expect(lab.count(.dryRun) == 1)
    }

    @Test func aRepairRemovedAgainAndAgainIsFlappingAndLeftAlone() {
        let lab = RouteLab()
        lab.settings.maxInstallsPerWindow = 2
        for _ in 0..<2 {
            lab.pass()
            lab.table.routes.removeAll { $0.protocolID == .pathwatch }
            lab.advance(.seconds(1))
        }
        let events = lab.pass()
        #expect(lab.count(.flapping) == 1)
        #expect(lab.statistics.removedByOthers == 2)
        #expect(lab.ours().isEmpty, "it stopped re-installing")
        #expect(RouteLab.findings(events).last?.evidence.likelyCause == "a test removes it")
        lab.pass()
        #expect(lab.count(.flapping) == 1, "once per episode")
        #expect(lab.table.attempts.count == 2)
        // The window passes: one more try.
        lab.advance(.seconds(700))
        lab.pass()
        #expect(lab.ours().count == 1)
    }

    @Test func aRestartAdoptsOurRouteAndCountsItsLaterRemoval() {
        let lab = RouteLab()
        lab.table.routes.append(
            Route(
                destination: IPPrefix("10.5.2.0/24")!, protocolID: .pathwatch,
                nextHops: [NextHop(gateway: IPAddress("10.4.2.1"), interface: RouteLab.net1.index)]))
        lab.pass()
        #expect(lab.count(.success) == 0)
        lab.table.routes.removeAll { $0.protocolID == .pathwatch }
        lab.pass()
        #expect(lab.statistics.removedByOthers == 1)
        #expect(lab.ours().count == 1, "restored")
    }

    @Test func ourOwnLeftoversAreCleanedUpAndOnlyThose() {
        let lab = RouteLab()
        let stale = Route(
            destination: IPPrefix("10.9.0.0/16")!, protocolID: .pathwatch,
            nextHops: [NextHop(gateway: IPAddress("10.4.2.1"), interface: RouteLab.net1.index)])
        let foreign = Route(
            destination: IPPrefix("10.8.0.0/16")!, protocolID: .static,
            nextHops: [NextHop(gateway: IPAddress("10.4.1.1"), interface: RouteLab.net0.index)])
        lab.table.routes += [stale, foreign]
        lab.mode = .dryRun
        lab.pass()
        #expect(lab.route("10.9.0.0/16") != nil, "only on-mode cleans up")
        lab.mode = .on
        let events = lab.pass()
        #expect(events.contains(.cleanedUp(.deleteRoute(stale))))
        #expect(lab.route("10.9.0.0/16") == nil)
        #expect(lab.route("10.8.0.0/16") == foreign)
        #expect(lab.count(.cleanedUp) == 1)
    }

    @Test func expectationsThatGoAwayCloseTheirFindings() {
        let lab = RouteLab()
        lab.mode = .off
        lab.pass()
        let id = lab.expectation.id
        lab.subnetRoutes = [:]
        let events = lab.pass()
        #expect(events.contains(.cleared(id, stillExpected: false)))
        #expect(lab.statistics.missing.isEmpty)
    }
}

extension RouteLab {
    /// The incident's expectation as the lab's model yields it.
    var expectation: SubnetRouteExpectation {
        SubnetRouteExpectation.all(in: table.model(), subnetRoutes: subnetRoutes, gateways: gateways)[0]
    }
}

/// calico's loop: for every change of the policy-routing fix, a refusal the first time; retries
/// converge to exactly the wanted objects, with nothing left behind.
@Suite("Subnet route convergence under injected failures")
struct SubnetRouteConvergenceTests {
    @Test(arguments: 0..<3)
    func aRefusedChangeIsRetriedUntilTheFixConverges(_ failing: Int) {
        let lab = RouteLab()
        lab.settings.strategy = .policyRouting
        let fix = SubnetRoutePlanner.fixObjects(for: lab.expectation, settings: lab.settings)
        var refused = false
        lab.table.refuse = { change in
            guard change == fix[failing], !refused else { return nil }
            refused = true
            return RouteChangeRefusal(errno: 105, message: "No buffer space available")
        }
        for _ in 0..<10 {
            lab.pass()
            lab.advance(.seconds(1))
        }
        #expect(refused)
        #expect(lab.count(.failed) == 1)
        #expect(lab.count(.success) == 1)
        let ours = Set(lab.table.routes.filter { $0.protocolID == .pathwatch }.map { RouteChange.addRoute($0) })
            .union(lab.table.rules.filter { $0.protocolID == .pathwatch }.map { RouteChange.addRule($0) })
        #expect(ours == Set(fix), "exactly the fix, nothing left behind")
        #expect(lab.statistics.missing.values.allSatisfy { !$0 })
    }

    /// A refused rollback is reported; the route stays as pathwatch's own fix in place, shown as
    /// `reported` (a foreign rule sends the traffic elsewhere), and works once the rule goes.
    @Test func aRefusedRollbackIsReportedAndTheRouteWorksOnceTheRuleGoes() {
        let lab = RouteLab()
        lab.table.rules.append(
            Rule(family: .inet, priority: 100, destination: IPPrefix("10.5.2.0/24")!, table: RouteTable(rawValue: 50), protocolID: .static))
        lab.table.routes.append(
            Route(
                destination: IPPrefix("10.5.2.0/24")!, table: RouteTable(rawValue: 50), protocolID: .static,
                nextHops: [NextHop(gateway: IPAddress("10.4.1.1"), interface: RouteLab.net0.index)]))
        lab.table.refuse = { change in
            if case .deleteRoute = change { return RouteChangeRefusal(errno: 16, message: "Device or resource busy") }
            return nil
        }
        let events = lab.pass()
        #expect(events.contains { if case .cleanupRefused = $0 { true } else { false } })
        #expect(lab.ours().count == 1, "the route stayed; it is ours and no expectation works through it")
        lab.table.refuse = { _ in nil }
        lab.advance(.seconds(1))
        #expect(RouteLab.findings(lab.pass()).last?.evidence.repairState == "reported")
        #expect(lab.count(.verifyFailed) == 1, "nothing more pathwatch may do")
        lab.table.rules.removeAll()
        #expect(lab.pass().contains(.cleared(lab.expectation.id, stillExpected: true)))
        #expect(lab.statistics.removedByOthers == 0)
    }
}
