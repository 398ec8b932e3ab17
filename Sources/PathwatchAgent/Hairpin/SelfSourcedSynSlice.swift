import PathwatchCore
import Synchronization

/// The self-sourced SYN slice's shared state: the engine and the numbers its collector and
/// `/readyz` read. The watcher's thread writes; scrapes read; the lock guards only this.
public final class SelfSourcedSynSlice: Sendable {
    public struct Statistics: Sendable, Equatable {
        /// SYNs dropped: the probe rule's matches, or rises of the counter in counter mode.
        public var drops: UInt64 = 0
        /// UDP datagrams with a local source arriving from outside (the probe's UDP rule).
        public var udpDrops: UInt64 = 0
        /// SYNs failing the strict reverse-path check (the probe's third rule), any source.
        public var reversePathSyns: UInt64 = 0
        public var probePackets: UInt64 = 0
        public var probeReinstalls: UInt64 = 0
        public var probeLost: UInt64 = 0
        /// Checks of the probe's table (a dump): after someone else changed it, after the rules
        /// logged (to read their counters), after lost notifications. None while nothing happens.
        public var probeChecks: UInt64 = 0
        /// Times the nf_tables notification socket overran; each is followed by a check.
        public var probeNotificationsLost: UInt64 = 0
        /// Transactions that changed the probe's sets of node-local endpoints.
        public var endpointSetUpdates: UInt64 = 0
        /// Address ranges (merged) in those sets.
        public var localEndpointRanges = 0
        /// The kernel's `in_martian_src`, as last read in counter mode (the collector reads it
        /// itself when it has the counter).
        public var martianPackets: UInt64 = 0
        public var mode = SelfSourcedSynMode.none
        public var overflowSyns: UInt64 = 0
        /// Held probe packets (IPv4 `rp_filter` 0/2, IPv6) whose flow conntrack confirmed (left to
        /// the conntrack correlator), did not confirm (reported), or that found the set full.
        public var confirmedReversePath: UInt64 = 0
        public var unconfirmedReversePath: UInt64 = 0
        public var confirmationOverflows: UInt64 = 0
        public init() {}
    }

    private let state: Mutex<(engine: SelfSourcedSynEngine, statistics: Statistics)>
    private let pods = Mutex<(any PodNameResolver)?>(nil)

    public init(settings: AgentConfig.HairpinSettings) {
        let engine = SelfSourcedSynEngine(
            quiet: .seconds(settings.quietSeconds), maxFindings: settings.maxFindings, probeLogGroup: settings.probeLogGroup)
        state = Mutex((engine, Statistics()))
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }
    public var mode: SelfSourcedSynMode { state.withLock { $0.statistics.mode } }

    /// From now on, the evidence names the client and server pods this resolver knows.
    public func namePods(with resolver: any PodNameResolver) { pods.withLock { $0 = resolver } }

    var podNames: (any PodNameResolver)? { pods.withLock { $0 } }

    /// Runs `body` on the engine and the numbers, under the slice's lock only.
    func update<T>(_ body: (inout SelfSourcedSynEngine, inout Statistics) -> T) -> T {
        state.withLock { s in
            defer { s.statistics.overflowSyns = s.engine.overflowSyns }
            return body(&s.engine, &s.statistics)
        }
    }
}

/// The self-sourced SYN slice's metrics, read at scrape time.
public struct SelfSourcedSynCollector: ScrapeCollector {
    let statistics: @Sendable () -> SelfSourcedSynSlice.Statistics
    /// Read when scraped (node_exporter style): with the probe installed nothing else reads it,
    /// so an idle agent does not wake to poll a file nobody asked about.
    let martian: (any MartianCounterSource)?
    /// `TcpExtIPReversePathFilter`, read when scraped too.
    let reversePath: (any MartianCounterSource)?

    public init(_ slice: SelfSourcedSynSlice) {
        statistics = { slice.statistics }
        martian = MartianCounterFile()
        reversePath = ReversePathCounterFile()
    }

    init(
        statistics: @escaping @Sendable () -> SelfSourcedSynSlice.Statistics, martian: (any MartianCounterSource)? = nil,
        reversePath: (any MartianCounterSource)? = nil
    ) {
        self.statistics = statistics
        self.martian = martian
        self.reversePath = reversePath
    }

    public func collect(into page: inout PrometheusPage) {
        var s = statistics()
        if let value = try? martian?.read() { s.martianPackets = value }
        if let value = try? reversePath?.read() {
            page.counter(
                "pathwatch_reverse_path_filter_packets_total",
                help:
                    "The kernel's TcpExtIPReversePathFilter (this namespace): IPv4 packets rp_filter dropped.",
                value: value)
        }
        page.counter(
            "pathwatch_self_sourced_syn_drops_total",
            help:
                "SYNs dropped for a source that is this node's own address (instance hairpin).",
            value: s.drops)
        page.counter(
            "pathwatch_self_sourced_udp_drops_total",
            help:
                "UDP datagrams dropped for a source that is this node's own address.",
            value: s.udpDrops)
        page.counter(
            "pathwatch_syn_probe_reverse_path_total",
            help:
                "SYNs failing the probe's strict reverse-path check.",
            value: s.reversePathSyns)
        page.counter(
            "pathwatch_syn_probe_confirmations_total",
            help:
                "Probe packets the kernel may deliver, judged by conntrack a moment later: confirmed, unconfirmed (reported), overflow (not held).",
            samples: [
                ([("result", "confirmed")], s.confirmedReversePath), ([("result", "unconfirmed")], s.unconfirmedReversePath),
                ([("result", "overflow")], s.confirmationOverflows),
            ])
        page.counter(
            "pathwatch_martian_source_packets_total",
            help:
                "The kernel's in_martian_src counter (rt_cache, kernel-wide).",
            value: s.martianPackets)
        page.gauge(
            "pathwatch_self_sourced_syn_detection",
            help:
                "1 for the self-sourced SYN detection mode in force.",
            samples: SelfSourcedSynMode.allCases.map { ([("mode", $0.rawValue)], $0 == s.mode ? 1 : 0) })
        page.counter(
            "pathwatch_syn_probe_packets_total",
            help:
                "Self-sourced SYNs the probe logged and the agent received.",
            value: s.probePackets)
        page.counter(
            "pathwatch_syn_probe_reinstalls_total",
            help:
                "Times the probe's nftables table was found changed and recreated.",
            value: s.probeReinstalls)
        page.counter(
            "pathwatch_syn_probe_lost_total",
            help:
                "nfnetlink_log overruns of the probe (ENOBUFS); the rule still counts drops.",
            value: s.probeLost)
        page.counter(
            "pathwatch_syn_probe_checks_total",
            help:
                "Checks of the probe's nftables table; flat on an idle node.",
            value: s.probeChecks)
        page.counter(
            "pathwatch_syn_probe_notifications_lost_total",
            help:
                "Overruns of the probe's nf_tables notification socket (each followed by a full check).",
            value: s.probeNotificationsLost)
        page.counter(
            "pathwatch_syn_probe_endpoint_set_updates_total",
            help:
                "Updates of the probe's node-local endpoint sets.",
            value: s.endpointSetUpdates)
        page.gauge(
            "pathwatch_syn_probe_local_endpoint_ranges",
            help: "Address ranges in the probe's node-local endpoint sets.",
            value: Double(s.localEndpointRanges))
        page.counter(
            "pathwatch_self_sourced_syn_findings_overflow_total",
            help:
                "Self-sourced SYNs through frontends beyond hairpin.maxFindings (finding \"other\").",
            value: s.overflowSyns)
    }
}
