import Logging
import Netlink
import NetlinkIO
import PathwatchCore
import ServiceLifecycle

/// Keeps ``LiveNodeState`` in step with the kernel's links, addresses, routes and rules.
///
/// Subscribes first, then dumps, then applies events. On an overrun (events lost) it counts it
/// and re-dumps everything. IPv4 removes the routes of a link that goes down or away without
/// telling anyone, so such a link change triggers a route and address re-dump too.
public final class RtnetlinkWatcher: Service {
    public static let readinessPart = "rtnetlink"
    private let state: LiveNodeState
    private let metrics: AgentMetrics
    private let logger: Logger
    private let receiveBufferBytes: Int
    private let conntrackSelector: ConntrackEventSelector?
    private let thread = WatcherThread(name: "rtnetlink")

    public init(
        state: LiveNodeState, metrics: AgentMetrics, receiveBufferBytes: Int, conntrackSelector: ConntrackEventSelector? = nil,
        logger: Logger
    ) {
        self.state = state
        self.conntrackSelector = conntrackSelector
        self.metrics = metrics
        self.receiveBufferBytes = receiveBufferBytes
        self.logger = logger
    }

    public func run() async throws {
        thread.startSupervised(logger: logger) { [self] thread in try session(thread) }
        await thread.runUntilShutdown()
    }

    /// One subscription's life: subscribe, dump, follow events until stopped or failed.
    private func session(_ thread: WatcherThread) throws {
        let events = try RtnetlinkEventSocket(receiveBufferBytes: receiveBufferBytes)
        events.socket.wakeOnSignal(thread.wake)  // nothing periodic here: sleep until the kernel speaks
        let dumper = try RtnetlinkDumper()
        logger.info("rtnetlink subscription open", metadata: ["receive_buffer_bytes": "\(events.socket.receiveBufferSize)"])
        try resyncAll(dumper, reason: "start-up")
        state.markReady(Self.readinessPart)
        try follow(events, dumper, thread)
    }

    private func follow(_ events: RtnetlinkEventSocket, _ dumper: RtnetlinkDumper, _ thread: WatcherThread) throws(NetlinkError) {
        var decodeFailures = DecodeFailureLog(socketName: "rtnetlink", logger: logger) { [metrics] in metrics.countDecodeError(.rtnetlink) }
        while !thread.isStopping {
            var linkWentAway = false
            var changed = false
            do {
                _ = try events.receiveEvents { event in
                    if self.linkWentAway(event) { linkWentAway = true }
                    if self.state.apply(event) {
                        changed = true
                        self.logger.debug("kernel change", metadata: ["event": "\(event)"])
                    }
                } onDecodeError: { error in
                    decodeFailures.skipped(error)
                }
            } catch  where error.kind == .overrun {
                metrics.countOverrun(.rtnetlink)
                let discarded = events.socket.drain()
                logger.warning(
                    "rtnetlink events were lost (ENOBUFS); re-dumping to reconcile the model",
                    metadata: ["discarded_datagrams": "\(discarded)"])
                try resyncAll(dumper, reason: "overrun")
                continue
            }
            // Widen the conntrack event filter for a new endpoint before anything else.
            if changed { conntrackSelector?.refresh(from: state) }
            if linkWentAway {
                let addresses = try dumper.addresses()
                let routes = try dumper.routes()
                state.update {
                    $0.replaceAddresses(addresses)
                    $0.replaceRoutes(routes)
                }
                conntrackSelector?.refresh(from: state)
                metrics.countResync(.rtnetlink)
                logger.debug("re-dumped routes after a link went down", metadata: ["routes": "\(routes.count)"])
            }
        }
    }

    /// A link removed, or a link that was administratively up and is no longer.
    private func linkWentAway(_ event: RtnetlinkEvent) -> Bool {
        switch event {
        case .linkRemoved: return true
        case .linkChanged(let link):
            let wasUp = state.read { $0.links[link.index]?.flags.contains(.up) ?? false }
            return wasUp && !link.flags.contains(.up)
        default: return false
        }
    }

    private func resyncAll(_ dumper: RtnetlinkDumper, reason: String) throws(NetlinkError) {
        let links = try dumper.links()
        let addresses = try dumper.addresses()
        let rules = try dumper.rules()
        // Routes are streamed into a fresh model sized for the previous count, not collected
        // first: on a node with a million routes that saves the array and every table growth.
        var fresh = NodeState()
        fresh.replaceAll(links: links, addresses: addresses, routes: [], rules: rules)
        fresh.reserveRouteCapacity(max(1024, state.read { $0.routes.count }))
        for family in [AddressFamily.inet, .inet6] {
            try dumper.forEachRoute(
                family: family, restart: { fresh.removeRoutes(family: family) }, { route in fresh.apply(.routeAdded(route)) })
        }
        let routeCount = fresh.routes.count
        // The neighbour view is the neighbour watcher's, rebuilt by its own dumps: keep it.
        let rebuilt = fresh
        state.update { model in
            let neighbours = model.neighbours
            model = rebuilt
            model.replaceNeighbours(neighbours)
        }
        conntrackSelector?.refresh(from: state)
        metrics.countResync(.rtnetlink)
        logger.info(
            "model rebuilt from a full dump",
            metadata: [
                "reason": "\(reason)", "links": "\(links.count)", "addresses": "\(addresses.count)", "routes": "\(routeCount)",
                "rules": "\(rules.count)",
            ])
    }
}
