import Netlink
import Testing

@testable import PathwatchCore

/// Issue 17, items 1–5: each decision that was wrong, against the in-memory route table. Each
/// test fails on the repairer as it was before the fix.
@Suite("Repair hardening")
struct RepairHardeningTests {
    /// 17.1: a foreign rule sends 10.6.0.0/24 out of net0; 10.5.2.0/24 shares the policy rule and
    /// the connected route and must be repaired whichever comes first.
    @Test(arguments: [["10.6.0.0/24", "10.5.2.0/24"], ["10.5.2.0/24", "10.6.0.0/24"]])
    func aDestinationThatCannotBeFixedKeepsWhatAnotherNeeds(_ order: [String]) {
        let lab = RouteLab()
        lab.settings.strategy = .policyRouting
        lab.subnetRoutes = ["net1": order.map { IPPrefix($0)! }]
        lab.table.rules.append(
            Rule(family: .inet, priority: 100, destination: IPPrefix("10.6.0.0/24")!, table: RouteTable(rawValue: 50), protocolID: .static))
        lab.table.routes.append(
            Route(
                destination: IPPrefix("10.6.0.0/24")!, table: RouteTable(rawValue: 50), protocolID: .static,
                nextHops: [NextHop(gateway: IPAddress("10.4.1.1"), interface: RouteLab.net0.index)]))
        let policy = RouteTable(rawValue: 10_003)
        let events = lab.pass()
        #expect(lab.count(.success) == 1)
        #expect(lab.count(.verifyFailed) == 1)
        #expect(lab.route("10.5.2.0/24", table: policy) != nil)
        #expect(lab.route("10.4.2.0/24", table: policy) != nil, "the shared connected route stays")
        #expect(lab.table.rules.contains { $0.protocolID == .pathwatch }, "the shared rule stays")
        #expect(lab.route("10.6.0.0/24", table: policy) == nil, "what only the failed one needed is taken back")
        #expect(events.filter { if case .rolledBack = $0 { true } else { false } }.count == 1)
        lab.advance(.milliseconds(100))
        let next = lab.pass()
        #expect(lab.count(.verifyFailed) == 1, "backing off, not retried at once")
        #expect(!next.contains { if case .removedByOthers = $0 { true } else { false } }, "our own rollback is not someone else's removal")
        #expect(lab.statistics.removedByOthers == 0)
        #expect(lab.count(.flapping) == 0)
    }

    /// 17.2: until every expectation source has answered, nothing of ours is removed.
    @Test func cleanUpWaitsForEveryExpectationSource() {
        let lab = RouteLab()
        lab.subnetRoutes = [:]  // discovery has not answered: nothing expected yet
        let learned = Route(
            destination: IPPrefix("10.0.0.0/16")!, table: RouteTable(rawValue: 10_003), protocolID: .pathwatch,
            nextHops: [NextHop(gateway: IPAddress("10.4.2.1"), interface: RouteLab.net1.index)])
        lab.table.routes.append(learned)
        lab.sourcesSettled = false
        let first = lab.pass()
        let second = lab.pass()
        #expect(lab.table.routes.contains(learned))
        #expect(first.contains(.cleanupDeferred(count: 1)))
        #expect(!second.contains(.cleanupDeferred(count: 1)), "said once")
        lab.sourcesSettled = true
        lab.pass()
        #expect(!lab.table.routes.contains(learned), "once settled, a leftover no source wants goes")
    }

    /// 17.3: a foreign route on the same prefix at another metric blocks the repair.
    @Test func aForeignRouteAtAnyMetricIsAConflict() {
        let lab = RouteLab()
        let foreign = Route(
            destination: IPPrefix("10.5.2.0/24")!, protocolID: .static, priority: 100,
            nextHops: [NextHop(gateway: IPAddress("10.4.1.1"), interface: RouteLab.net0.index)])
        lab.table.routes.append(foreign)
        let events = lab.pass()
        lab.pass()
        #expect(lab.table.attempts.isEmpty, "nothing installed ahead of it")
        #expect(lab.count(.blocked) == 1)
        #expect(lab.count(.conflict) == 0)
        #expect(RouteLab.findings(events).last?.remediation.conflict?.contains("owned by protocol static") == true)
        #expect(RouteLab.findings(events).last?.evidence.repairState == "conflict")
    }

    /// 17.4: refusals back off per destination, exponentially; one line per state change.
    @Test func kernelRefusalsBackOffAndAreLoggedOnce() {
        let lab = RouteLab()
        lab.table.refuse = { _ in RouteChangeRefusal(errno: 101, message: "Network is unreachable") }
        for _ in 0..<200 {
            lab.pass()
            lab.advance(.milliseconds(10))
        }
        // 2 s of passes: tries at 0, 0.5 and 1.5 s; the next is due at 3.5 s.
        #expect(lab.table.attempts.count == 3)
        #expect(lab.count(.failed) == 3)
        #expect(lab.reconciler.engine.history.nextRetry == lab.now - .seconds(2) + .milliseconds(3500))
        #expect(lab.events.filter { if case .refused = $0 { true } else { false } }.count == 1)
        #expect(RouteLab.findings(lab.events).last?.evidence.repairState == "failed: Network is unreachable")
        lab.table.refuse = { _ in nil }
        lab.advance(.seconds(2))
        lab.pass()
        #expect(lab.count(.success) == 1, "after the backoff it is tried again")
        #expect(lab.reconciler.engine.history.nextRetry == nil)
    }

    /// 17.5: a changed gateway replaces our route instead of leaving the old one.
    @Test func aChangedGatewayReplacesOurRoute() {
        let lab = RouteLab()
        lab.pass()
        lab.gateways = ["net1": IPAddress("10.4.2.254")!]
        lab.pass()
        #expect(lab.ours().map(\.gateway) == [IPAddress("10.4.2.254")])
        #expect(lab.count(.success) == 2)
        #expect(lab.count(.failed) == 0)
        #expect(lab.statistics.removedByOthers == 0, "replacing our own route is not someone else's removal")
    }

    /// 17.5: switching auto-fix off stops a pass under way: no further change, no clean-up.
    @Test func switchingOffStopsAnEvaluationUnderWay() {
        let lab = RouteLab()
        lab.settings.strategy = .policyRouting
        let stale = Route(
            destination: IPPrefix("10.9.0.0/16")!, protocolID: .pathwatch,
            nextHops: [NextHop(gateway: IPAddress("10.4.2.1"), interface: RouteLab.net1.index)])
        lab.table.routes.append(stale)
        lab.table.beforeApply = { [unowned lab] _ in lab.mode = .off }
        let events = lab.pass()
        #expect(lab.table.attempts.count == 1, "the change under way completes, nothing after it")
        #expect(events.contains(.stoppedByModeChange(.off)))
        #expect(lab.table.routes.contains(stale), "no clean-up once off")
    }
}
