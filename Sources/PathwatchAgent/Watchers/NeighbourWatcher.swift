import Logging
import Netlink
import NetlinkIO
import PathwatchCore
import ServiceLifecycle

/// Keeps the model's ``NeighbourView`` in step with the kernel's ARP and ND tables.
///
/// Its own socket, joined only to `RTNLGRP_NEIGH`: on a big node neighbour entries change state
/// far more often than routes, and an overrun here must cost a re-dump of the neighbour tables,
/// not of a million routes. Subscribes, dumps, then follows `RTM_NEWNEIGH`/`RTM_DELNEIGH`.
/// A change to the view of unanswered entries wakes the subnet-route repairer's gateway and
/// on-link checks (`ChangeSignal.Kinds.neighbours`), never its route evaluations.
public final class NeighbourWatcher: Service {
    private let state: LiveNodeState
    private let metrics: AgentMetrics
    private let logger: Logger
    private let receiveBufferBytes: Int
    private let thread = WatcherThread(name: "neighbours")

    public init(state: LiveNodeState, metrics: AgentMetrics, receiveBufferBytes: Int, logger: Logger) {
        self.state = state
        self.metrics = metrics
        self.receiveBufferBytes = receiveBufferBytes
        self.logger = logger
    }

    public func run() async throws {
        thread.startSupervised(logger: logger) { [self] thread in try session(thread) }
        await thread.runUntilShutdown()
    }

    private func session(_ thread: WatcherThread) throws {
        let events = try RtnetlinkEventSocket(receiveBufferBytes: receiveBufferBytes, groups: [.neighbour])
        events.socket.wakeOnSignal(thread.wake)
        let dumper = try RtnetlinkDumper()
        try resync(dumper, reason: "start-up")
        try follow(events, dumper, thread)
    }

    private func follow(_ events: RtnetlinkEventSocket, _ dumper: RtnetlinkDumper, _ thread: WatcherThread) throws(NetlinkError) {
        var decodeFailures = DecodeFailureLog(socketName: "rtnetlink neighbours", logger: logger) { [metrics] in
            metrics.countDecodeError(.rtnetlink)
        }
        while !thread.isStopping {
            do {
                _ = try events.receiveEvents { event in
                    self.apply(event)
                } onDecodeError: { error in
                    decodeFailures.skipped(error)
                }
            } catch  where error.kind == .overrun {
                metrics.countOverrun(.rtnetlink)
                let discarded = events.socket.drain()
                logger.warning(
                    "neighbour events were lost (ENOBUFS); re-dumping the neighbour tables",
                    metadata: ["discarded_datagrams": "\(discarded)"])
                try resync(dumper, reason: "overrun")
            }
        }
    }

    private func apply(_ event: RtnetlinkEvent) {
        if case .neighbourChanged(let n) = event { state.applyNeighbour(n, removed: false) }
        if case .neighbourRemoved(let n) = event { state.applyNeighbour(n, removed: true) }
    }

    private func resync(_ dumper: RtnetlinkDumper, reason: String) throws(NetlinkError) {
        var dump = NeighbourDump()
        try dumper.forEachNeighbour(restart: { dump = NeighbourDump() }, { dump.add($0) })
        state.replaceNeighbours(dump.view)
        logger.info(
            "neighbour view rebuilt from a full dump",
            metadata: [
                "reason": "\(reason)", "entries": "\(dump.seen)", "unanswered": "\(dump.view.count)", "dropped": "\(dump.dropped)",
            ])
    }
}

/// One dump of the neighbour tables as it is applied.
private struct NeighbourDump {
    var view = NeighbourView()
    var seen = 0
    var dropped = 0

    mutating func add(_ neighbour: Neighbour) {
        seen += 1
        if view.apply(neighbour, removed: false) == .dropped { dropped += 1 }
    }
}
