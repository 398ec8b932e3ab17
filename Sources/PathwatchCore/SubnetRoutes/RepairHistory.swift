/// What pathwatch did about each expectation, to notice repairs that do not hold and to back
/// off from changes the kernel refuses.
///
/// A repair that keeps disappearing means something else owns the routing table (systemd-networkd
/// with `ManageForeignRoutes`, a cloud image's policy-route refresh timer). Re-installing it in a
/// tight loop would fight that manager forever, so after `maxInstallsPerWindow` verified installs
/// within `windowSeconds` the expectation is *flapping*: pathwatch stops changing it and says so.
/// The limits are passed on every call, so a SIGHUP that changes them applies at once.
public struct RepairHistory: Sendable {
    public typealias Key = SubnetRouteExpectation.ID
    public typealias Instant = ContinuousClock.Instant

    public struct Entry: Sendable, Hashable {
        /// When pathwatch installed a fix that verified, newest last, within the window.
        public var installs: [Instant] = []
        /// How often a fix pathwatch had installed was found gone again.
        public var removals = 0
        /// Whether the last install was verified and has not been seen missing since.
        public var installed = false
        /// After a refusal or a failed verification: when the next attempt is allowed.
        public var retryAt: Instant?
        /// The current backoff; doubles per failure up to ``RepairHistory/maximumBackoff``.
        public var backoff: Duration = .zero
    }

    /// The first retry after a failure comes this much later, then twice as late each time.
    public static let initialBackoff = Duration.milliseconds(500)
    /// Retries after repeated failures come at most this far apart.
    public static let maximumBackoff = Duration.seconds(300)

    public private(set) var entries: [Key: Entry] = [:]

    public init() {}

    public func entry(_ key: Key) -> Entry { entries[key] ?? Entry() }

    /// Whether the expectation's verified installs within the window have reached the limit.
    public func isFlapping(_ key: Key, at now: Instant, settings: AgentConfig.RepairSettings) -> Bool {
        let window = Duration.seconds(settings.windowSeconds)
        return entry(key).installs.filter { now - $0 < window }.count >= settings.maxInstallsPerWindow
    }

    /// When the earliest backoff ends: the owner evaluates again then, since nothing else may
    /// change in the meantime.
    public var nextRetry: Instant? { entries.values.compactMap(\.retryAt).min() }

    /// Whether a previous failure's backoff still holds.
    public func isBackingOff(_ key: Key, at now: Instant) -> Bool {
        guard let retryAt = entry(key).retryAt else { return false }
        return now < retryAt
    }

    /// A fix was installed and a fresh lookup confirmed it: clears any backoff.
    public mutating func recordVerifiedInstall(_ key: Key, at now: Instant, settings: AgentConfig.RepairSettings) {
        var e = entry(key)
        let window = Duration.seconds(settings.windowSeconds)
        e.installs = e.installs.filter { now - $0 < window } + [now]
        e.installed = true
        e.retryAt = nil
        e.backoff = .zero
        entries[key] = e
    }

    /// A change was refused or did not verify: the next attempt waits, exponentially longer
    /// per consecutive failure, capped.
    public mutating func recordFailure(_ key: Key, at now: Instant) {
        var e = entry(key)
        e.backoff = e.backoff == .zero ? Self.initialBackoff : min(e.backoff * 2, Self.maximumBackoff)
        e.retryAt = now + e.backoff
        entries[key] = e
    }

    /// The expectation is missing again. Returns true when that means a fix pathwatch had
    /// installed was removed by someone else.
    @discardableResult
    public mutating func recordMissing(_ key: Key) -> Bool {
        var e = entry(key)
        defer { entries[key] = e }
        guard e.installed else { return false }
        e.installed = false
        e.removals += 1
        return true
    }

    /// The expectation holds. When it holds through pathwatch's own route (say after a
    /// restart, with the route still in place), a later disappearance counts as a removal.
    public mutating func recordHolding(_ key: Key, throughPathwatchRoute: Bool) {
        var e = entry(key)
        e.retryAt = nil
        e.backoff = .zero
        if throughPathwatchRoute { e.installed = true }
        entries[key] = e
    }

    /// Forgets expectations that no longer exist.
    public mutating func retain(only keys: Set<Key>) {
        entries = entries.filter { keys.contains($0.key) }
    }
}
