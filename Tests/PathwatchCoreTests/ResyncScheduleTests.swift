import Foundation
import Testing

@testable import PathwatchCore

/// The re-dump policy after conntrack overruns: after the burst, never back to back under a
/// flood, and never forgotten.
@Suite("Resync schedule")
struct ResyncScheduleTests {
    let t0 = ContinuousClock.now

    @Test func nothingIsDueWithoutAnOverrun() {
        let schedule = ResyncSchedule()
        #expect(!schedule.isPending)
        #expect(!schedule.isDue(at: t0))
    }

    @Test func aBurstIsReconciledOnceItHasBeenQuietForASecond() {
        var schedule = ResyncSchedule(quietSeconds: 1, maxDeferSeconds: 10)
        schedule.noteOverrun(at: t0)
        schedule.noteOverrun(at: t0 + .seconds(0.5))
        #expect(schedule.isPending)
        #expect(!schedule.isDue(at: t0 + .seconds(1.2)), "0.7 s after the last overrun")
        #expect(schedule.isDue(at: t0 + .seconds(1.5)))
        schedule.didResync()
        #expect(!schedule.isPending && !schedule.isDue(at: t0 + .seconds(100)))
    }

    /// The overload run: an overrun every 0.3 s for a minute. Re-dumps come every 10 s, not at
    /// every overrun, and the events in between are followed.
    @Test func aFloodIsReDumpedAtMostEveryMaxDeferSeconds() {
        var schedule = ResyncSchedule(quietSeconds: 1, maxDeferSeconds: 10)
        var resyncs: [Double] = []
        var t = 0.0
        while t < 60 {
            schedule.noteOverrun(at: t0 + .seconds(t))
            if schedule.isDue(at: t0 + .seconds(t)) {
                resyncs.append(t)
                schedule.didResync()
            }
            t += 0.3
        }
        #expect(resyncs.count == 5, "\(resyncs)")
        for (a, b) in zip(resyncs, resyncs.dropFirst()) { #expect(b - a >= 10 - 0.31) }
        // And once the flood stops, the last one a second later.
        #expect(schedule.isPending)
        #expect(schedule.isDue(at: t0 + .seconds(t + 1)))
    }

    @Test func theDeferralIsNeverShorterThanTheQuietTime() {
        let schedule = ResyncSchedule(quietSeconds: 5, maxDeferSeconds: 1)
        #expect(schedule.maxDeferSeconds == 5)
    }
}
