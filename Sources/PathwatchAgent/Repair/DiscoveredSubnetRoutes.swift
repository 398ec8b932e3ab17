import Netlink
import PathwatchCore
import Synchronization

/// Subnet-route expectations learned at run time (from the cloud's instance metadata), merged
/// with the configured `subnetRoutes` by the repairer, and how discovery is doing. Configuration
/// wins for an interface it names, so an operator can always override what discovery found.
public final class DiscoveredSubnetRoutes: Sendable {
    public struct Snapshot: Sendable, Equatable {
        /// Interface name → destinations it must reach via its own subnet gateway.
        public var subnetRoutes: [String: [IPPrefix]] = [:]
        /// Interface name → gateway, where discovery knows it.
        public var gateways: [String: IPAddress] = [:]
        public init() {}
    }

    /// How discovery has fared since it was turned on; read by the collector at scrape time and
    /// by the repairer to know whether clean-up may start.
    public struct Status: Sendable, Equatable {
        /// nil while discovery is off; otherwise whether the last read worked.
        public var lastReadOK: Bool?
        public var failures: [MetadataError.Reason: Int] = [:]
        /// Whether a read has worked since discovery was turned on.
        public var answered = false
        /// When reads started failing without any having worked yet.
        public var failingSince: ContinuousClock.Instant?

        /// How long clean-up of earlier runs' routes waits for a first answer of a failing
        /// metadata service before treating discovery as having given up.
        public static let startupGrace = Duration.seconds(120)

        /// Whether discovery no longer holds clean-up back: it is off, it answered, or it has
        /// failed for longer than ``startupGrace``. Until then the routes an earlier run
        /// installed from its answers are kept (issue: an upgrade with a slow metadata service
        /// used to withdraw them).
        public func isSettled(enabled: Bool, at now: ContinuousClock.Instant) -> Bool {
            guard enabled else { return true }
            if answered { return true }
            guard let failingSince else { return false }
            return now - failingSince >= Self.startupGrace
        }
    }

    private let state = Mutex((snapshot: Snapshot(), status: Status()))
    private let changes: ChangeSignal

    public init(notify changes: ChangeSignal) { self.changes = changes }

    public var snapshot: Snapshot { state.withLock { $0.snapshot } }
    public var status: Status { state.withLock { $0.status } }

    public func replace(with fresh: Snapshot) {
        let changed = state.withLock { current in
            defer { current.snapshot = fresh }
            return current.snapshot != fresh
        }
        if changed { changes.notify() }
    }

    func recordRead(at now: ContinuousClock.Instant) {
        let first = state.withLock { current in
            defer {
                current.status.lastReadOK = true
                current.status.answered = true
                current.status.failingSince = nil
            }
            return !current.status.answered
        }
        if first { changes.notify() }
    }

    func recordFailure(_ reason: MetadataError.Reason, at now: ContinuousClock.Instant) {
        state.withLock { current in
            current.status.lastReadOK = false
            current.status.failures[reason, default: 0] += 1
            if !current.status.answered, current.status.failingSince == nil { current.status.failingSince = now }
        }
    }

    /// Discovery turned off: what it found is withdrawn and its status series disappears.
    func turnedOff() {
        state.withLock { $0 = (Snapshot(), Status()) }
        changes.notify()
    }

    /// The configured expectations with the discovered ones added for interfaces the
    /// configuration does not name.
    public func merged(with config: AgentConfig) -> (subnetRoutes: [String: [IPPrefix]], gateways: [String: IPAddress]) {
        let discovered = snapshot
        var routes = discovered.subnetRoutes
        var gateways = discovered.gateways
        for (interface, destinations) in config.subnetRoutes { routes[interface] = destinations }
        for (interface, gateway) in config.subnetGateways { gateways[interface] = gateway }
        return (routes, gateways)
    }
}
