/// When to re-dump the conntrack table after its event queue overran.
///
/// A re-dump of 250k flows takes ~1.4 s, and an event flood that overran the queue once overruns
/// it again while the dump runs: re-dumping at every overrun left the agent doing nothing else,
/// blind to hairpins for as long as the flood lasted (the overload run in docs/benchmarks.md).
/// So after an overrun the watcher keeps following events (those after the gap are still
/// true; only the lost ones are missing) and re-dumps once the overruns stop for
/// `quietSeconds`, or `maxDeferSeconds` after the first unreconciled overrun at the latest.
/// The model may lack flows meanwhile, and says so (`pathwatch_conntrack_resync_pending`).
public struct ResyncSchedule: Sendable, Equatable {
    public let quietSeconds: Double
    public let maxDeferSeconds: Double
    /// The first overrun not yet reconciled by a re-dump.
    public private(set) var pendingSince: ContinuousClock.Instant?
    private var lastOverrun: ContinuousClock.Instant?

    public init(quietSeconds: Double = 1, maxDeferSeconds: Double = 10) {
        self.quietSeconds = quietSeconds
        self.maxDeferSeconds = max(quietSeconds, maxDeferSeconds)
    }

    public var isPending: Bool { pendingSince != nil }

    public mutating func noteOverrun(at now: ContinuousClock.Instant) {
        if pendingSince == nil { pendingSince = now }
        lastOverrun = now
    }

    public func isDue(at now: ContinuousClock.Instant) -> Bool {
        guard let pendingSince, let lastOverrun else { return false }
        return now - lastOverrun >= .seconds(quietSeconds) || now - pendingSince >= .seconds(maxDeferSeconds)
    }

    public mutating func didResync() {
        pendingSince = nil
        lastOverrun = nil
    }
}
