import PathwatchCore
import Prometheus
import Synchronization

/// The `/metrics` page: the events the agent counts itself (overruns, reloads, findings) on the
/// client library's registry, then every slice's ``ScrapeCollector``, which reads its own state
/// (the model, the kernel's counters, the HTTP server's) when the page is served.
///
/// Names are the operator contract (docs/metrics.md lists each one; a test keeps the two in
/// step). Label values are bounded: interfaces that exist on the node, fixed enumerations.
public final class AgentMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Path comparison, kernel TCP counters, NIC allowances, socket sampling cost.
    public let paths: PathMetrics
    /// `pathwatch_finding_causes`, the fleet view of the open findings.
    public let findingCauses: FindingCauseMetrics
    /// The kernel's conntrack table size and statistics, as last read before a scrape.
    public let conntrack = ConntrackKernelCollector()

    private let autofixGauges: [AutofixMode: Gauge]
    private let overruns: [NetlinkSource: Counter]
    private let resyncs: [NetlinkSource: Counter]
    private let decodeErrors: [NetlinkSource: Counter]
    private let conntrackEvents: [ConntrackEventKind: Counter]
    private let configReloads: [Bool: Counter]
    private let findings: [FindingKind: Gauge]
    private let conntrackResyncPending: Gauge
    /// The slices' own collectors, written after the registry's series on every scrape.
    private let collectors: Mutex<[any ScrapeCollector]>

    /// The netlink subscriptions whose overruns are counted separately.
    public enum NetlinkSource: String, Sendable, CaseIterable {
        case rtnetlink
        case conntrack
    }

    public enum ConntrackEventKind: String, Sendable, CaseIterable {
        case new
        case update
        case destroy
    }

    public init(version: String, commit: String) {
        let r = registry
        paths = PathMetrics()
        findingCauses = FindingCauseMetrics(registry: r)
        r.gauge(
            name: "pathwatch_build_info", labels: [("version", version), ("commit", commit)],
            help: "Always 1; labels: version and commit."
        ).set(to: 1)
        let autofixHelp = "1 for the auto-fix mode in force."
        autofixGauges = r.gauges(name: "pathwatch_autofix_mode", label: "mode", values: AutofixMode.allCases, help: autofixHelp) {
            $0.rawValue
        }
        let overrunHelp =
            "Netlink receive-queue overruns (ENOBUFS)."
        overruns = r.counters(name: "pathwatch_netlink_overruns_total", label: "source", values: NetlinkSource.allCases, help: overrunHelp)
        { $0.rawValue }
        let resyncHelp = "Full re-dumps of kernel state."
        resyncs = r.counters(name: "pathwatch_netlink_resyncs_total", label: "source", values: NetlinkSource.allCases, help: resyncHelp) {
            $0.rawValue
        }
        let decodeHelp = "Netlink messages skipped as undecodable."
        decodeErrors = r.counters(
            name: "pathwatch_netlink_decode_errors_total", label: "source", values: NetlinkSource.allCases, help: decodeHelp
        ) { $0.rawValue }
        let eventsHelp = "Conntrack events received, by type."
        conntrackEvents = r.counters(
            name: "pathwatch_conntrack_events_total", label: "type", values: ConntrackEventKind.allCases, help: eventsHelp
        ) { $0.rawValue }
        let reloadHelp = "Configuration reloads (SIGHUP) by result."
        configReloads = [
            true: r.counter(name: "pathwatch_config_reloads_total", labels: [("result", "success")], help: reloadHelp),
            false: r.counter(name: "pathwatch_config_reloads_total", labels: [("result", "failure")], help: reloadHelp),
        ]
        let findingHelp = "Open findings by kind."
        findings = r.gauges(name: "pathwatch_findings", label: "kind", values: FindingKind.allCases, help: findingHelp) { $0.rawValue }
        conntrackResyncPending = r.gauge(
            name: "pathwatch_conntrack_resync_pending",
            help:
                "1 from a conntrack event overrun until the re-dump that reconciles it."
        )
        collectors = Mutex([paths, conntrack])
    }

    public func setAutofixMode(_ mode: AutofixMode) {
        for (m, gauge) in autofixGauges { gauge.set(to: m == mode ? 1 : 0) }
    }

    public func countOverrun(_ source: NetlinkSource) { overruns[source]?.increment() }
    public func countResync(_ source: NetlinkSource) { resyncs[source]?.increment() }
    public func countDecodeError(_ source: NetlinkSource) { decodeErrors[source]?.increment() }
    public func countConntrackEvent(_ kind: ConntrackEventKind, by amount: Int = 1) {
        conntrackEvents[kind]?.increment(by: Int64(amount))
    }
    public func countConfigReload(success: Bool) { configReloads[success]?.increment() }
    public func setConntrackResyncPending(_ pending: Bool) { conntrackResyncPending.set(to: pending ? 1 : 0) }

    public func setFindingCounts(_ open: [Finding]) {
        var counts: [FindingKind: Int] = [:]
        for finding in open { counts[finding.kind, default: 0] += 1 }
        for (kind, gauge) in findings { gauge.set(Int64(counts[kind] ?? 0)) }
        findingCauses.set(open)
    }

    /// The Prometheus text exposition of every series.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        var page = PrometheusPage()
        for collector in collectors.withLock({ $0 }) { collector.collect(into: &page) }
        buffer.append(contentsOf: page.bytes)
        return buffer
    }

    /// Adds a slice's collector to every later scrape.
    public func register(_ collector: any ScrapeCollector) {
        collectors.withLock { $0.append(collector) }
    }
}

extension PrometheusCollectorRegistry {
    /// A counter whose `# HELP` line says what it counts; `name` is the full metric name.
    func counter(name: String, labels: [(String, String)] = [], help: String) -> Counter {
        makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    /// A gauge whose `# HELP` line says what it measures; `name` is the full metric name.
    func gauge(name: String, labels: [(String, String)] = [], help: String) -> Gauge {
        makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }
}

extension PrometheusCollectorRegistry {
    /// One counter per value of a bounded label, keyed by that value.
    func counters<Key: Hashable>(
        name: String, label: String, values: [Key], help: String, _ render: (Key) -> String
    ) -> [Key: Counter] {
        Dictionary(uniqueKeysWithValues: values.map { ($0, counter(name: name, labels: [(label, render($0))], help: help)) })
    }

    /// One gauge per value of a bounded label, keyed by that value.
    func gauges<Key: Hashable>(name: String, label: String, values: [Key], help: String, _ render: (Key) -> String) -> [Key: Gauge] {
        Dictionary(uniqueKeysWithValues: values.map { ($0, gauge(name: name, labels: [(label, render($0))], help: help)) })
    }
}
