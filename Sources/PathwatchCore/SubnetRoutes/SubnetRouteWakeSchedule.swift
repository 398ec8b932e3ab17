/// When the subnet-route repairer must wake with nothing having changed: an idle node's agent
/// should sleep until a change, so every periodic wake has to name what it is for.
///
/// Pure: the repairer fills it in from its clock and its engines' state and sleeps until
/// ``nextWake(now:)`` or a change, whichever comes first.
public struct SubnetRouteWakeSchedule: Sendable, Equatable {
    public typealias Instant = ContinuousClock.Instant

    /// The safety-net evaluation's period: a missed event costs at most this much.
    public static let evaluationPeriod = Duration.seconds(60)
    /// The gateway and on-link checks' spacing while they time something.
    public static let checkPeriod = Duration.seconds(1)
    /// The longest sleep, whatever is due.
    public static let longestSleep = Duration.seconds(60)

    /// The first model dump is not in yet: nothing is evaluated, the repairer only waits for it.
    public var ready = true
    public var lastEvaluation: Instant?
    /// The end of a repair's backoff, if one is pending and not evaluated since.
    public var retry: Instant?
    public var lastCheck: Instant?
    /// A change (model or neighbours) or an evaluation since the last check.
    public var checkPending = true
    /// A gateway's or on-link entry's resolution is being timed, or such a finding is open.
    public var watching = false
    public var lastScan: Instant?
    /// The live-traffic scan's period; nil when it is off.
    public var scanPeriod: Duration?

    public init() {}

    /// Whether the safety-net or a backoff's end calls for an evaluation now.
    public func evaluationDue(now: Instant) -> Bool {
        if let retry, now >= retry, lastEvaluation.map({ $0 < retry }) ?? true { return true }
        return lastEvaluation.map { now - $0 >= Self.evaluationPeriod } ?? true
    }

    /// Whether the gateway and on-link checks should run now (at most once per ``checkPeriod``).
    public func checkDue(now: Instant) -> Bool {
        (checkPending || watching) && (lastCheck.map { now - $0 >= Self.checkPeriod } ?? true)
    }

    public func scanDue(now: Instant) -> Bool {
        guard let scanPeriod else { return false }
        return lastScan.map { now - $0 >= scanPeriod } ?? true
    }

    /// The next instant something is due with no change: what the repairer sleeps until.
    public func nextWake(now: Instant) -> Instant {
        guard ready else { return now + Self.checkPeriod }
        var next = (lastEvaluation ?? now) + Self.evaluationPeriod
        if let retry, lastEvaluation.map({ $0 < retry }) ?? true { next = min(next, retry) }
        if checkPending || watching { next = min(next, (lastCheck ?? now) + Self.checkPeriod) }
        if let scanPeriod { next = min(next, (lastScan ?? now) + scanPeriod) }
        return min(max(next, now), now + Self.longestSleep)
    }
}
