import Testing

@testable import PathwatchCore

@Suite("Subnet-route repairer: when it wakes with nothing changed")
struct SubnetRouteWakeScheduleTests {
    let t0 = ContinuousClock.now

    /// A node with nothing to time: evaluated once, checked once, no scan.
    func settled() -> SubnetRouteWakeSchedule {
        var schedule = SubnetRouteWakeSchedule()
        schedule.lastEvaluation = t0
        schedule.lastCheck = t0
        schedule.checkPending = false
        schedule.lastScan = t0
        return schedule
    }

    @Test func anIdleNodeSleepsUntilTheSafetyNetEvaluation() {
        let schedule = settled()
        #expect(schedule.nextWake(now: t0 + .seconds(2)) == t0 + .seconds(60))
        #expect(!schedule.evaluationDue(now: t0 + .seconds(59)))
        #expect(schedule.evaluationDue(now: t0 + .seconds(60)))
        #expect(!schedule.checkDue(now: t0 + .seconds(30)), "nothing changed and nothing is timed: no neighbour check")
    }

    @Test func theLiveTrafficScanIsTheOnlyOtherRegularWake() {
        var schedule = settled()
        schedule.scanPeriod = .seconds(5)
        #expect(schedule.nextWake(now: t0 + .seconds(1)) == t0 + .seconds(5))
        #expect(!schedule.scanDue(now: t0 + .seconds(4)))
        #expect(schedule.scanDue(now: t0 + .seconds(5)))
        schedule.scanPeriod = nil
        #expect(!schedule.scanDue(now: t0 + .seconds(50)), "scan off")
    }

    @Test func aTimedGatewayOrOnLinkEntryIsCheckedEverySecond() {
        var schedule = settled()
        schedule.watching = true
        #expect(schedule.nextWake(now: t0 + .milliseconds(200)) == t0 + .seconds(1))
        #expect(!schedule.checkDue(now: t0 + .milliseconds(999)))
        #expect(schedule.checkDue(now: t0 + .seconds(1)))
    }

    @Test func aChangeIsCheckedAtOnceButAtMostOnceASecond() {
        var schedule = settled()
        schedule.checkPending = true
        #expect(schedule.checkDue(now: t0 + .seconds(3)), "the first change after a quiet spell is checked when it comes")
        #expect(!schedule.checkDue(now: t0 + .milliseconds(300)), "a burst of changes right after a check waits")
        #expect(schedule.nextWake(now: t0 + .milliseconds(300)) == t0 + .seconds(1), "and is not forgotten")
    }

    @Test func theEndOfARepairBackoffIsEvaluatedOnce() {
        var schedule = settled()
        schedule.retry = t0 + .seconds(8)
        #expect(schedule.nextWake(now: t0 + .seconds(1)) == t0 + .seconds(8))
        #expect(!schedule.evaluationDue(now: t0 + .seconds(7)))
        #expect(schedule.evaluationDue(now: t0 + .seconds(8)))
        schedule.lastEvaluation = t0 + .seconds(8)
        #expect(!schedule.evaluationDue(now: t0 + .seconds(9)), "evaluated since the backoff ended")
        #expect(schedule.nextWake(now: t0 + .seconds(9)) == t0 + .seconds(68))
    }

    @Test func beforeTheFirstDumpItWaitsASecondAtATime() {
        var schedule = SubnetRouteWakeSchedule()
        schedule.ready = false
        #expect(schedule.nextWake(now: t0) == t0 + .seconds(1))
        schedule.ready = true
        #expect(schedule.evaluationDue(now: t0), "never evaluated: at once")
        #expect(schedule.checkDue(now: t0))
    }

    @Test func aWakeInThePastIsNow() {
        var schedule = settled()
        schedule.scanPeriod = .seconds(5)
        #expect(schedule.nextWake(now: t0 + .seconds(30)) == t0 + .seconds(30))
    }
}
