import Foundation

/// What pathwatch did about each expectation, to notice repairs that do not hold.
///
/// A repair that keeps disappearing means something else owns the routing table (systemd-networkd
/// with `ManageForeignRoutes`, a cloud image's policy-route refresh timer). Re-installing it in a
/// tight loop would fight that manager forever, so after `maxInstallsPerWindow` installs within
/// `windowSeconds` the expectation is *flapping*: pathwatch stops changing it and says so.
public struct RepairHistory: Sendable {
    public struct Entry: Sendable, Hashable {
        /// When pathwatch installed the fix, newest last, within the window.
        public var installs: [Date] = []
        /// How often a fix pathwatch had installed was found gone again.
        public var removals = 0
        /// Whether the last install was verified and has not been seen missing since.
        public var installed = false
    }

    public private(set) var entries: [String: Entry] = [:]
    public let maxInstallsPerWindow: Int
    public let window: TimeInterval

    public init(maxInstallsPerWindow: Int, window: TimeInterval) {
        self.maxInstallsPerWindow = maxInstallsPerWindow
        self.window = window
    }

    public func entry(_ key: String) -> Entry { entries[key] ?? Entry() }

    /// Whether another install is allowed now, or the expectation is flapping.
    public func mayInstall(_ key: String, at now: Date) -> Bool {
        entry(key).installs.filter { now.timeIntervalSince($0) < window }.count < maxInstallsPerWindow
    }

    public func isFlapping(_ key: String, at now: Date) -> Bool { !mayInstall(key, at: now) }

    public mutating func recordInstall(_ key: String, at now: Date) {
        var e = entry(key)
        e.installs = e.installs.filter { now.timeIntervalSince($0) < window } + [now]
        e.installed = true
        entries[key] = e
    }

    /// The expectation is missing again. Returns true when that means a fix pathwatch had
    /// installed was removed by someone else.
    @discardableResult
    public mutating func recordMissing(_ key: String) -> Bool {
        var e = entry(key)
        defer { entries[key] = e }
        guard e.installed else { return false }
        e.installed = false
        e.removals += 1
        return true
    }

    /// The expectation holds. When it holds through pathwatch's own route (say after a
    /// restart, with the route still in place), a later disappearance counts as a removal.
    public mutating func recordHolding(_ key: String, throughPathwatchRoute: Bool) {
        guard throughPathwatchRoute else { return }
        var e = entry(key)
        e.installed = true
        entries[key] = e
    }

    /// Forgets expectations that no longer exist.
    public mutating func retain(only keys: Set<String>) {
        entries = entries.filter { keys.contains($0.key) }
    }
}
