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
        /// The kernel's `in_martian_src`, as last read.
        public var martianPackets: UInt64 = 0
        public var mode = SelfSourcedSynMode.none
        public var overflowSyns: UInt64 = 0
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

    public init(_ slice: SelfSourcedSynSlice) { statistics = { slice.statistics } }
    init(statistics: @escaping @Sendable () -> SelfSourcedSynSlice.Statistics) { self.statistics = statistics }

    public func collect(into page: inout PrometheusPage) {
        let s = statistics()
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
            "pathwatch_self_sourced_syn_findings_overflow_total",
            help:
                "Self-sourced SYNs through frontends beyond hairpin.maxFindings (finding \"other\").",
            value: s.overflowSyns)
    }
}
