import Netlink
import PathwatchCore

/// Copies out of the node model what the hairpin slices call local (``LocalEndpoints``), so no
/// detector runs under the model's lock.
///
/// Read on every call (a pod that just appeared counts at once): endpoints, connected subnets
/// and the uplinks come from indexes the model keeps as events arrive (``RouteIndexes``), so a
/// read costs the size of its answer, not a pass over a million routes.
public final class HostedEndpointsReader: Sendable {
    private let state: LiveNodeState

    public init(state: LiveNodeState) {
        self.state = state
    }

    public func read() -> LocalEndpoints {
        state.read { model in
            LocalEndpoints(
                addresses: model.localEndpoints,
                subnets: LocalEndpoints.hostedSubnets(
                    addresses: Array(model.addresses.values), links: model.links, uplinks: model.routeIndexes.uplinks))
        }
    }
}
