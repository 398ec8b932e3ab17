import Netlink

/// Where the repair of one missing expectation stands; `evidence.repairState` is its label.
public enum RepairState: Hashable, Sendable {
    /// Auto-fix is on but nothing pathwatch may do would help (say its own route is in place
    /// and a rule elsewhere still sends the traffic away).
    case reported
    case autofixOff
    /// The changes dry-run would make.
    case dryRun([RouteChange])
    /// A route pathwatch does not own is in the way.
    case conflict(Conflict)
    /// The repair keeps disappearing; pathwatch stopped re-installing it.
    case flapping
    /// The kernel refused a change; retried after a backoff.
    case failed(RouteChangeRefusal)
    case repaired
    /// Installed, but the lookup did not change; taken back, retried after a backoff.
    case verifyFailed

    /// The text operators and the namespace suites read in `evidence.repairState`.
    public var label: String {
        switch self {
        case .reported: "reported"
        case .autofixOff: "auto-fix off"
        case .dryRun: "dry-run"
        case .conflict: "conflict"
        case .flapping: "flapping"
        case .failed(let refusal): "failed: \(refusal)"
        case .repaired: "repaired"
        case .verifyFailed: "verify failed"
        }
    }
}

/// A foreign route on the prefix pathwatch would install, in the table it would use.
public struct Conflict: Hashable, Sendable, CustomStringConvertible {
    /// The route in the way, exactly as the model holds it.
    public var route: Route

    public init(route: Route) { self.route = route }

    public var description: String {
        "a route to \(route.destination) in table \(route.table) owned by protocol \(route.protocolID) is in the way; pathwatch never changes routes it does not own"
    }
}
