import Netlink
import PathwatchCore
import Synchronization

/// Copies out of the node model what the hairpin slices call local (``LocalEndpoints``), so no
/// detector runs under the model's lock.
///
/// Endpoints and connected subnets are read on every call (a pod that just appeared counts at
/// once). Which links are uplinks needs a pass over every route, so that set is refreshed at
/// most once per `uplinkRefresh`: a million-route node holds the model's lock for that pass only
/// every few seconds. While no uplink is known (start-up) it is looked for on every call.
public final class HostedEndpointsReader: Sendable {
    private let state: LiveNodeState
    private let uplinks = Mutex<(links: Set<InterfaceIndex>, at: ContinuousClock.Instant?)>(([], nil))
    private let uplinkRefresh: Duration

    public init(state: LiveNodeState, uplinkRefresh: Duration = .seconds(5)) {
        self.state = state
        self.uplinkRefresh = uplinkRefresh
    }

    public func read(at now: ContinuousClock.Instant = .now) -> LocalEndpoints {
        // No uplink yet is a model still being read (every node has a default route or a
        // gateway route somewhere): look again at once rather than call the uplinks local for
        // the next few seconds.
        let due = uplinks.withLock { $0.links.isEmpty || ($0.at.map { now - $0 >= uplinkRefresh } ?? true) }
        if due {
            let fresh = state.read { Self.uplinks(of: $0) }
            uplinks.withLock { $0 = (fresh, now) }
        }
        let known = uplinks.withLock { $0.links }
        return state.read { model in
            LocalEndpoints(
                addresses: model.localEndpoints,
                subnets: LocalEndpoints.hostedSubnets(addresses: Array(model.addresses.values), links: model.links, uplinks: known))
        }
    }

    /// Links some route leaves through via a gateway.
    static func uplinks(of model: borrowing NodeState) -> Set<InterfaceIndex> {
        var links: Set<InterfaceIndex> = []
        for route in model.routes.values {
            if route.pathCount == 1 {
                if route.gateway != nil, let oif = route.outputInterface { links.insert(oif) }
            } else {
                for hop in route.nextHops where hop.gateway != nil { if let oif = hop.interface { links.insert(oif) } }
            }
        }
        return links
    }
}
