import Netlink
import PathwatchCore
import Synchronization

/// Subnet-route expectations learned at run time (from the cloud's instance metadata), merged
/// with the configured `subnetRoutes` by the repairer. Configuration wins for an interface it
/// names, so an operator can always override what discovery found.
public final class DiscoveredSubnetRoutes: Sendable {
    public struct Snapshot: Sendable, Equatable {
        /// Interface name → destinations it must reach via its own subnet gateway.
        public var subnetRoutes: [String: [IPPrefix]] = [:]
        /// Interface name → gateway, where discovery knows it.
        public var gateways: [String: IPAddress] = [:]
        public init() {}
    }

    private let state = Mutex(Snapshot())
    private let changes: ChangeSignal

    public init(notify changes: ChangeSignal) { self.changes = changes }

    public var snapshot: Snapshot { state.withLock { $0 } }

    public func replace(with fresh: Snapshot) {
        let changed = state.withLock { current in
            defer { current = fresh }
            return current != fresh
        }
        if changed { changes.notify() }
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
