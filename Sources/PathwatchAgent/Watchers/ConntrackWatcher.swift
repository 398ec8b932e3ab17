import FoundationEssentials
import Logging
import Netlink
import NetlinkIO
import PathwatchCore
import ServiceLifecycle

/// Follows conntrack NEW/UPDATE/DESTROY events into ``LiveConntrackTable``, counts them, and
/// hands each batch to its consumers (``ConntrackEventConsumer``: the detector slices).
///
/// Subscribes before dumping the table, so no flow falls in between. An overrun (the kernel
/// dropped events because the queue was full) is counted and followed by a fresh table dump
/// once the burst ends (``ResyncSchedule``), following the events in between.
/// Delivery stays best-effort on purpose: reliable ctnetlink delivery
/// (`NETLINK_BROADCAST_SEND_ERROR`) would make the kernel drop packets when the agent is slow.
public final class ConntrackWatcher: Service {
    public static let readinessPart = "conntrack"
    private let table: LiveConntrackTable
    private let selector: ConntrackEventSelector
    private let state: LiveNodeState
    private let metrics: AgentMetrics
    private let settings: AgentConfig.ConntrackSettings
    private let logger: Logger
    private let thread = WatcherThread(name: "conntrack")
    private let consumers: [any ConntrackEventConsumer]

    public init(
        table: LiveConntrackTable, selector: ConntrackEventSelector, state: LiveNodeState, metrics: AgentMetrics,
        settings: AgentConfig.ConntrackSettings, consumers: [any ConntrackEventConsumer], logger: Logger
    ) {
        self.consumers = consumers
        self.table = table
        self.selector = selector
        self.state = state
        self.metrics = metrics
        self.settings = settings
        self.logger = logger
    }

    public func run() async throws {
        thread.startSupervised(logger: logger) { [self] thread in try session(thread) }
        await thread.runUntilShutdown()
    }

    /// One subscription's life: subscribe, dump the table, follow events until stopped or failed.
    private func session(_ thread: WatcherThread) throws {
        let events = try ConntrackEventSocket(receiveBufferBytes: settings.receiveBufferBytes)
        // Sleep until events come or a stop; wake once a second while something is due without
        // events (re-dumps after a burst, hairpin expiry, narrowing the event filter), else
        // rarely (`restingWake`).
        events.socket.wakeOnSignal(thread.wake, idleTimeoutMilliseconds: Self.busyWakeMilliseconds)
        selector.adopt(events, model: state)
        defer { selector.release() }
        let client = try ConntrackClient()
        logger.info(
            "conntrack subscription open",
            metadata: [
                "receive_buffer_bytes": "\(events.receiveBufferSize)",
                "kernel_filter": "\(selector.attached.map { "\($0)" } ?? "none: every event")",
            ])
        try resync(client, reason: "start-up")
        state.markReady(Self.readinessPart)
        if !table.kernelHasFlows {
            logger.notice(
                "conntrack has no entries in this network namespace: it stays inactive until something uses it (an nft ct rule, NAT, kube-proxy, Docker), and until then conntrack-based detection sees nothing"
            )
        }
        try follow(events, client, thread)
    }

    static let busyWakeMilliseconds: Int32 = 1000
    /// How long an idle watcher sleeps when nothing is due. Bounded rather than forever because
    /// other threads can give work to the tick without an event (the probe reports a hairpin
    /// drop, the rtnetlink watcher schedules a filter narrowing): that work waits at most this
    /// long (a finding's close, after minutes of quiet, or a narrowing, after 30 s, a little late).
    static let restingWake = Duration.seconds(10)
    static let restingWakeMilliseconds = Int32(restingWake.components.seconds * 1000)

    /// Batches closer together than this are a burst.
    static let burstGap = Duration.milliseconds(10)
    /// How long a burst is left to gather before the next read.
    static let coalesceSeconds = 0.005

    private func follow(_ events: ConntrackEventSocket, _ client: ConntrackClient, _ thread: WatcherThread) throws(NetlinkError) {
        var batch: [ConntrackEvent] = []
        batch.reserveCapacity(ConntrackEventSocket.batchDatagrams)
        var schedule = ResyncSchedule()
        let clock = ContinuousClock()
        var lastBatch = clock.now
        var boundBiting = false
        var decodeFailures = DecodeFailureLog(socketName: "conntrack", logger: logger) { [metrics] in metrics.countDecodeError(.conntrack) }
        while !thread.isStopping {
            batch.removeAll(keepingCapacity: true)
            do {
                _ = try events.receiveEvents({ batch.append($0) }, onDecodeError: { decodeFailures.skipped($0) })
            } catch {
                switch error.kind {
                case .overrun:
                    metrics.countOverrun(.conntrack)
                    if !schedule.isPending {
                        metrics.setConntrackResyncPending(true)
                        logger.warning(
                            "conntrack events were lost (ENOBUFS); following the events that come next and re-dumping the table once the burst ends",
                            metadata: ["at_the_latest_seconds": "\(Int(schedule.maxDeferSeconds))"])
                    }
                    schedule.noteOverrun(at: clock.now)
                default:
                    throw error
                }
            }
            count(batch)
            noteBound(&boundBiting)
            selector.tick()
            // Events in quick succession: let the next ones gather for a moment, so a burst is
            // read in batches rather than one wake-up and context switch per event (the
            // detectors' windows are seconds; 5 ms of latency costs nothing). A full batch means
            // more is queued: read on at once. A quiet node never pauses.
            let now = clock.now
            if !batch.isEmpty, batch.count < ConntrackEventSocket.batchDatagrams, now - lastBatch < Self.burstGap {
                thread.pause(seconds: Self.coalesceSeconds)
            }
            if !batch.isEmpty { lastBatch = now }
            let due = schedule.isPending || selector.needsTicks || consumers.contains { $0.needsTicks }
            events.socket.setIdleTimeout(milliseconds: due ? Self.busyWakeMilliseconds : Self.restingWakeMilliseconds)
            if schedule.isPending, schedule.isDue(at: clock.now) {
                // Queued events are superseded by the dump, and the kernel reports the next
                // overrun only once the queue has been empty: drain first.
                let discarded = events.socket.drain()
                try resync(client, reason: "overrun", discarded: discarded)
                schedule.didResync()
                metrics.setConntrackResyncPending(false)
            }
        }
    }

    /// One log line when the table's bound starts leaving flows out, one when it has room again.
    private func noteBound(_ biting: inout Bool) {
        if !biting, table.count >= table.maxFlows {
            biting = true
            logger.warning(
                "the conntrack table is at conntrack.maxTrackedFlows: new node-sourced flows are left out (pathwatch_conntrack_untracked_flows_total) and the live-traffic route scan sees only part of them",
                metadata: ["max_tracked_flows": "\(table.maxFlows)"])
        } else if biting, table.count < table.maxFlows * 9 / 10 {
            biting = false
            logger.notice("the conntrack table has room again", metadata: ["tracked_flows": "\(table.count)"])
        }
    }

    private func count(_ batch: [ConntrackEvent]) {
        guard !batch.isEmpty else {
            for consumer in consumers { consumer.idle() }
            return
        }
        var new = 0
        var update = 0
        var destroy = 0
        for event in batch {
            switch event.type {
            case .new: new += 1
            case .update: update += 1
            case .destroy: destroy += 1
            }
        }
        if new > 0 { metrics.countConntrackEvent(.new, by: new) }
        if update > 0 { metrics.countConntrackEvent(.update, by: update) }
        if destroy > 0 { metrics.countConntrackEvent(.destroy, by: destroy) }
        table.apply(batch, isTracked: selector.trackedSources.contains)
        for consumer in consumers { consumer.consume(batch) }
    }

    /// Streams a dump into a fresh table off the lock (no array of decoded flows beside it; only
    /// the flows sourced from the node's own addresses are kept), then swaps it in.
    private func resync(_ client: ConntrackClient, reason: String, discarded: Int = 0) throws(NetlinkError) {
        let tracked = selector.trackedSources
        var fresh = ConntrackTable(maxFlows: table.maxFlows, reservingCapacity: table.count)
        var dumped = 0
        try client.dumpFlows(family: .unspecified) { flow in
            dumped += 1
            fresh.insert(flow, isTracked: tracked.contains)
        }
        let kept = fresh.count
        table.replace(with: fresh, kernelEntries: dumped)
        metrics.countResync(.conntrack)
        logger.info(
            "conntrack table re-dumped",
            metadata: [
                "reason": "\(reason)", "flows": "\(dumped)", "tracked": "\(kept)", "discarded_datagrams": "\(discarded)",
            ])
    }
}
