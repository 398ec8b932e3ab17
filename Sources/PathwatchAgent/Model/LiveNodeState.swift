import Netlink
import NetlinkIO
import PathwatchCore
import Synchronization

/// The one shared ``NodeState``, behind a lock, plus whether the first full dump is in.
public final class LiveNodeState: Sendable {
    private let state = Mutex<NodeState>(NodeState())
    private let readiness = Mutex<Set<String>>([])
    /// The parts whose first full dump must be in before `/readyz` answers 200.
    public let requiredParts: Set<String>

    /// Notified after every change to the model (`.model`) and to its unanswered neighbour
    /// entries (`.neighbours`), for evaluators that react to changes.
    public let changes = ChangeSignal()
    /// The same, as an eventfd for a thread that sleeps in `poll(2)` on its sockets (the probe
    /// keeps its set of node-local endpoints in step with the model).
    public let changeNotice = ChangeNotice()

    public init(requiredParts: Set<String>) {
        self.requiredParts = requiredParts
    }

    public func read<T>(_ body: (borrowing NodeState) -> T) -> T {
        state.withLock { body($0) }
    }

    @discardableResult
    public func apply(_ event: RtnetlinkEvent) -> Bool {
        let changed = state.withLock { $0.apply(event) }
        if changed {
            changes.notify()
            changeNotice.notify()
        }
        return changed
    }

    /// Applies one ARP/ND entry. Listeners hear `.neighbours` only when the view of unanswered
    /// entries changed: entries churn between reachable and stale all day on a busy node, and
    /// none of that concerns the gateway and on-link checks, nor the route evaluations (which
    /// never wake for neighbours).
    @discardableResult
    public func applyNeighbour(_ neighbour: Neighbour, removed: Bool) -> NeighbourView.Outcome {
        let outcome = state.withLock { $0.applyNeighbour(neighbour, removed: removed) }
        if outcome == .changed { changes.notify(.neighbours) }
        return outcome
    }

    /// Puts in a neighbour view built from a dump.
    public func replaceNeighbours(_ view: NeighbourView) {
        state.withLock { $0.replaceNeighbours(view) }
        changes.notify(.neighbours)
    }

    /// Replaces parts of the model after a dump; notifies change listeners.
    public func update(_ body: (inout NodeState) -> Void) {
        state.withLock { body(&$0) }
        changes.notify()
        changeNotice.notify()
    }

    /// Refreshes counters only; not a change anyone evaluates.
    public func updateStatistics(_ links: [Link]) {
        state.withLock { model in
            for link in links { model.updateStatistics(of: link) }
        }
    }

    public func markReady(_ part: String) {
        _ = readiness.withLock { $0.insert(part) }
    }

    /// Parts still waiting for their first dump; empty once ready.
    public var pendingParts: Set<String> {
        readiness.withLock { requiredParts.subtracting($0) }
    }

    public var isReady: Bool { pendingParts.isEmpty }
}
