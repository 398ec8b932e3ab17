import Logging
import Netlink
import NetlinkIO
import PathwatchCore
import Synchronization

/// Keeps the kernel's conntrack event filter and the table's selection in step with the model.
///
/// The rtnetlink watcher calls ``refresh(from:)`` right after it applied a change, on its own
/// thread: a new pod's address widens the filter before that thread reads the next message,
/// let alone before the pod can send. `SO_ATTACH_FILTER` on the conntrack watcher's socket from
/// this thread is safe (the kernel swaps the program atomically). The conntrack watcher calls
/// ``tick()`` as it loops, so a narrowing that is due happens even when nothing else changes.
public final class ConntrackEventSelector: Sendable {
    private struct State {
        var socket: ConntrackEventSocket?
        var plan: ConntrackFilterPlan
        var wanted = ConntrackSourceSelection.everything
        var tracked: Set<IPAddress> = []
        var attached: ConntrackSourceSelection?
    }

    private let state: Mutex<State>
    /// `conntrack.kernelFilter`: off leaves the socket unfiltered (every event, as `conntrack -E`).
    public let kernelFilter: Bool
    private let logger: Logger
    private let clock = ContinuousClock()

    public init(kernelFilter: Bool, narrowAfter: Duration = .seconds(30), logger: Logger) {
        self.kernelFilter = kernelFilter
        self.logger = logger
        state = Mutex(State(plan: ConntrackFilterPlan(narrowAfter: narrowAfter)))
    }

    /// The node's own addresses: the sources whose flows the conntrack table keeps.
    public var trackedSources: Set<IPAddress> { state.withLock { $0.tracked } }

    /// What the kernel filter lets through now (nil: no filter attached).
    public var attached: ConntrackSourceSelection? { state.withLock { $0.attached } }

    /// Recomputes what the detectors need from the model and widens the filter at once if needed.
    public func refresh(from live: LiveNodeState) {
        let (wanted, tracked) = live.read { ($0.conntrackSources, $0.interfaceAddresses) }
        state.withLock { state in
            state.wanted = wanted
            state.tracked = tracked
            apply(&state)
        }
    }

    /// A narrowing is pending: ``tick()`` must run until it is done.
    public var needsTicks: Bool { state.withLock { $0.socket != nil && $0.plan.awaitsNarrowing(wanted: $0.wanted) } }

    /// Narrows the filter when a narrowing has become due.
    public func tick() {
        state.withLock { apply(&$0) }
    }

    /// A conntrack session opened `socket`: filter it from the start (before the table dump, so
    /// nothing the dump misses arrives unfiltered), with what the model wants now.
    public func adopt(_ socket: ConntrackEventSocket, model live: LiveNodeState) {
        let (wanted, tracked) = live.read { ($0.conntrackSources, $0.interfaceAddresses) }
        state.withLock { state in
            state.socket = socket
            state.plan.reset()
            state.attached = nil
            state.wanted = wanted
            state.tracked = tracked
            apply(&state)
        }
    }

    /// The session ended; its socket is about to close.
    public func release() {
        state.withLock { state in
            state.socket = nil
            state.attached = nil
            state.plan.reset()
        }
    }

    private func apply(_ state: inout State) {
        guard kernelFilter, let socket = state.socket,
            let next = state.plan.next(wanted: state.wanted, at: clock.now)
        else { return }
        do {
            try socket.attachSourceFilter(next.prefixes)
            let wasUnfiltered = state.attached.map { $0.ipv4 == nil || $0.ipv6 == nil } ?? false
            state.attached = next
            logger.debug("conntrack event filter attached", metadata: ["selection": "\(next)"])
            if next.ipv4 == nil || next.ipv6 == nil, !wasUnfiltered {
                logger.notice(
                    "conntrack event filter cannot narrow every family: node-local endpoints spread too wide for a socket filter, so the kernel passes all events of that family",
                    metadata: ["selection": "\(next)"])
            }
        } catch {
            // The filter is an optimisation: without it every event arrives and user space selects.
            state.plan.reset()
            state.attached = nil
            try? socket.detachSourceFilter()
            logger.warning("could not attach the conntrack event filter; selecting in user space", metadata: ["error": "\(error)"])
        }
    }
}
