import Netlink
import PathwatchCore
import Prometheus
import Synchronization

/// Every metric the agent serves, on one Prometheus registry.
///
/// Names are the operator contract (docs/metrics.md lists each one; a test keeps the two in
/// step). Label values are bounded: interfaces that exist on the node, fixed enumerations.
public final class AgentMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// Path comparison, kernel TCP counters, NIC allowances, socket sampling cost.
    public let paths: PathMetrics
    /// `pathwatch_finding_causes`, the fleet view of the open findings.
    public let findingCauses: FindingCauseMetrics

    /// Mutable bookkeeping for kernel-sourced series, serialized by the lock.
    private struct LinkSeries {
        var counters: [String: KernelCounter]
        var gauges: [String: Gauge]
        var handles: [Counter]
        var gaugeHandles: [Gauge]
    }

    private let links = Mutex<[String: LinkSeries]>([:])
    private let conntrackStatistics = Mutex<[String: KernelCounter]>([:])
    private let autofixGauges: [AutofixMode: Gauge]
    private let overruns: [NetlinkSource: Counter]
    private let resyncs: [NetlinkSource: Counter]
    private let decodeErrors: [NetlinkSource: Counter]
    private let conntrackEvents: [ConntrackEventKind: Counter]
    private let routeGauges: [AddressFamily: Gauge]
    private let addressGauges: [AddressFamily: Gauge]
    private let ruleGauges: [AddressFamily: Gauge]
    private let linkCount: Gauge
    private let localEndpoints: Gauge
    private let ready: Gauge
    private let configReloads: [Bool: Counter]
    private let conntrackEntries: Gauge
    private let conntrackEntriesMax: Gauge
    private let conntrackActive: Gauge
    private let conntrackFlows: Gauge
    private let findings: [FindingKind: Gauge]
    private let http: Mutex<HTTPSeries>
    private let conntrackResyncPending: Gauge
    /// The slices' own collectors, written after the registry's series on every scrape.
    private let collectors = Mutex<[any ScrapeCollector]>([])

    private struct HTTPSeries {
        var responses: [Int: KernelCounter]
        var rejected: KernelCounter
        var headTooLarge: KernelCounter
        var bodyTooLarge: KernelCounter
        var malformed: KernelCounter
        var idleTimeouts: KernelCounter
        var headTimeouts: KernelCounter
        var writeTimeouts: KernelCounter
        var stateBusy: KernelCounter
        var open: Gauge
    }

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

    static var linkCounterNames: [(String, String, KeyPath<LinkStatistics, UInt64>)] {
        [
            ("pathwatch_link_rx_bytes_total", "Bytes received on the interface (IFLA_STATS64 rx_bytes).", \.rxBytes),
            ("pathwatch_link_tx_bytes_total", "Bytes sent on the interface (IFLA_STATS64 tx_bytes).", \.txBytes),
            ("pathwatch_link_rx_packets_total", "Packets received on the interface.", \.rxPackets),
            ("pathwatch_link_tx_packets_total", "Packets sent on the interface.", \.txPackets),
            ("pathwatch_link_rx_errors_total", "Receive errors on the interface.", \.rxErrors),
            ("pathwatch_link_tx_errors_total", "Transmit errors on the interface.", \.txErrors),
            ("pathwatch_link_rx_dropped_total", "Received packets dropped by the interface.", \.rxDropped),
            ("pathwatch_link_tx_dropped_total", "Packets dropped before transmission on the interface.", \.txDropped),
        ]
    }

    public init(version: String, commit: String) {
        let r = registry
        paths = PathMetrics()
        findingCauses = FindingCauseMetrics(registry: r)
        r.gauge(
            name: "pathwatch_build_info", labels: [("version", version), ("commit", commit)],
            help: "Always 1; labels carry the pathwatch version and the commit it was built from."
        ).set(to: 1)
        let autofixHelp = "1 for the auto-fix mode in force (off, dry-run, on), 0 for the others."
        autofixGauges = r.gauges(name: "pathwatch_autofix_mode", label: "mode", values: AutofixMode.allCases, help: autofixHelp) {
            $0.rawValue
        }
        let overrunHelp =
            "Netlink receive-queue overruns (ENOBUFS): events the kernel dropped before pathwatch read them; each is followed by a full re-dump."
        overruns = r.counters(name: "pathwatch_netlink_overruns_total", label: "source", values: NetlinkSource.allCases, help: overrunHelp)
        { $0.rawValue }
        let resyncHelp = "Full re-dumps of kernel state that replaced the model (start-up, after an overrun, after a link went away)."
        resyncs = r.counters(name: "pathwatch_netlink_resyncs_total", label: "source", values: NetlinkSource.allCases, help: resyncHelp) {
            $0.rawValue
        }
        let decodeHelp = "Netlink messages that could not be decoded and were skipped."
        decodeErrors = r.counters(
            name: "pathwatch_netlink_decode_errors_total", label: "source", values: NetlinkSource.allCases, help: decodeHelp
        ) { $0.rawValue }
        let eventsHelp = "Conntrack events received from the kernel, by type (new, update, destroy)."
        conntrackEvents = r.counters(
            name: "pathwatch_conntrack_events_total", label: "type", values: ConntrackEventKind.allCases, help: eventsHelp
        ) { $0.rawValue }
        let families: [AddressFamily] = [.inet, .inet6]
        routeGauges = r.gauges(name: "pathwatch_routes", label: "family", values: families, help: "Routes in the model, all tables.") {
            $0.description
        }
        addressGauges = r.gauges(name: "pathwatch_addresses", label: "family", values: families, help: "Interface addresses in the model.")
        { $0.description }
        ruleGauges = r.gauges(name: "pathwatch_rules", label: "family", values: families, help: "Policy routing rules in the model.") {
            $0.description
        }
        linkCount = r.gauge(name: "pathwatch_links", help: "Network interfaces in the model.")
        localEndpoints = r.gauge(
            name: "pathwatch_local_endpoints",
            help: "Node-local endpoints: the node's own addresses plus workload addresses routed to container interfaces.")
        ready = r.gauge(name: "pathwatch_ready", help: "1 once the first full dump of every watched part is in the model.")
        let reloadHelp = "Configuration reloads (SIGHUP), by result; a failed reload keeps the last good configuration."
        configReloads = [
            true: r.counter(name: "pathwatch_config_reloads_total", labels: [("result", "success")], help: reloadHelp),
            false: r.counter(name: "pathwatch_config_reloads_total", labels: [("result", "failure")], help: reloadHelp),
        ]
        conntrackEntries = r.gauge(
            name: "pathwatch_conntrack_entries", help: "Conntrack entries in this network namespace (CTA_STATS_GLOBAL_ENTRIES).")
        conntrackEntriesMax = r.gauge(
            name: "pathwatch_conntrack_entries_max", help: "Conntrack table size limit (CTA_STATS_GLOBAL_MAX_ENTRIES).")
        conntrackActive = r.gauge(
            name: "pathwatch_conntrack_active",
            help:
                "1 when conntrack tracks flows in this namespace (entries or events seen); 0 means nothing uses conntrack here, so conntrack-based detection sees nothing."
        )
        conntrackFlows = r.gauge(
            name: "pathwatch_conntrack_flows",
            help:
                "Conntrack entries in this network namespace, from the kernel's statistics (pathwatch keeps only the flows its detectors read: pathwatch_conntrack_tracked_flows)."
        )
        let findingHelp = "Open findings by kind."
        findings = r.gauges(name: "pathwatch_findings", label: "kind", values: FindingKind.allCases, help: findingHelp) { $0.rawValue }
        conntrackResyncPending = r.gauge(
            name: "pathwatch_conntrack_resync_pending",
            help:
                "1 from a conntrack event overrun until the re-dump that reconciles it (once the burst ends, within 10 s): the flow model may lack flows meanwhile."
        )
        let responseHelp = "HTTP responses the endpoint sent, by status class (2xx, 4xx, 5xx, …)."
        let rejectedHelp = "HTTP requests or connections the endpoint refused, by reason."
        http = Mutex(
            HTTPSeries(
                responses: Dictionary(
                    uniqueKeysWithValues: (1...5).map {
                        (
                            $0,
                            KernelCounter(
                                r.counter(name: "pathwatch_http_responses_total", labels: [("code", "\($0)xx")], help: responseHelp))
                        )
                    }),
                rejected: KernelCounter(
                    r.counter(name: "pathwatch_http_rejections_total", labels: [("reason", "connection_limit")], help: rejectedHelp)),
                headTooLarge: KernelCounter(
                    r.counter(name: "pathwatch_http_rejections_total", labels: [("reason", "head_too_large")], help: rejectedHelp)),
                bodyTooLarge: KernelCounter(
                    r.counter(name: "pathwatch_http_rejections_total", labels: [("reason", "body_too_large")], help: rejectedHelp)),
                malformed: KernelCounter(
                    r.counter(name: "pathwatch_http_rejections_total", labels: [("reason", "malformed")], help: rejectedHelp)),
                idleTimeouts: KernelCounter(
                    r.counter(name: "pathwatch_http_rejections_total", labels: [("reason", "idle_timeout")], help: rejectedHelp)),
                headTimeouts: KernelCounter(
                    r.counter(name: "pathwatch_http_rejections_total", labels: [("reason", "head_timeout")], help: rejectedHelp)),
                writeTimeouts: KernelCounter(
                    r.counter(name: "pathwatch_http_rejections_total", labels: [("reason", "write_timeout")], help: rejectedHelp)),
                stateBusy: KernelCounter(
                    r.counter(name: "pathwatch_http_rejections_total", labels: [("reason", "state_busy")], help: rejectedHelp)),
                open: r.gauge(name: "pathwatch_http_open_connections", help: "HTTP connections open now.")))
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
    public func setReady(_ isReady: Bool) { ready.set(to: isReady ? 1 : 0) }

    public func setConntrackTable(entries: Int, max: Int) {
        conntrackEntries.set(Int64(entries))
        conntrackEntriesMax.set(Int64(max))
    }

    public func setConntrackActive(_ active: Bool) { conntrackActive.set(to: active ? 1 : 0) }
    public func setConntrackFlows(_ count: Int) { conntrackFlows.set(Int64(count)) }

    /// Per-CPU conntrack statistics summed over CPUs, as counters named
    /// `pathwatch_conntrack_stat_<name>_total`.
    public func setConntrackStatistics(_ values: [(name: String, help: String, value: UInt64)]) {
        conntrackStatistics.withLock { counters in
            for entry in values {
                let name = "pathwatch_conntrack_stat_\(entry.name)_total"
                let counter = counters[name] ?? KernelCounter(registry.counter(name: name, help: entry.help))
                counters[name] = counter
                counter.set(entry.value)
            }
        }
    }

    public func setConntrackResyncPending(_ pending: Bool) { conntrackResyncPending.set(to: pending ? 1 : 0) }

    public func setHTTPStatistics(_ snapshot: HTTPServerStatistics.Snapshot) {
        http.withLock { series in
            for (statusClass, counter) in series.responses { counter.set(UInt64(snapshot.responses(statusClass: statusClass))) }
            series.rejected.set(UInt64(snapshot.rejectedConnections))
            series.headTooLarge.set(UInt64(snapshot.requestHeadTooLarge))
            series.bodyTooLarge.set(UInt64(snapshot.requestBodyTooLarge))
            series.malformed.set(UInt64(snapshot.malformedRequests))
            series.idleTimeouts.set(UInt64(snapshot.idleTimeouts))
            series.headTimeouts.set(UInt64(snapshot.requestHeadTimeouts))
            series.writeTimeouts.set(UInt64(snapshot.writeTimeouts))
            series.stateBusy.set(UInt64(snapshot.stateRequestsBusy))
            series.open.set(Int64(snapshot.openConnections))
        }
    }

    public func setFindingCounts(_ open: [Finding]) {
        var counts: [FindingKind: Int] = [:]
        for finding in open { counts[finding.kind, default: 0] += 1 }
        for (kind, gauge) in findings { gauge.set(Int64(counts[kind] ?? 0)) }
        findingCauses.set(open)
    }

    /// Brings the model-derived gauges and the per-interface series up to date. Interfaces that
    /// disappeared lose their series, so label values never outnumber the node's interfaces.
    public func refresh(from state: borrowing NodeState) {
        let summary = state.summary
        routeGauges[.inet]?.set(Int64(summary.ipv4Routes))
        routeGauges[.inet6]?.set(Int64(summary.ipv6Routes))
        addressGauges[.inet]?.set(Int64(summary.ipv4Addresses))
        addressGauges[.inet6]?.set(Int64(summary.ipv6Addresses))
        ruleGauges[.inet]?.set(Int64(summary.ipv4Rules))
        ruleGauges[.inet6]?.set(Int64(summary.ipv6Rules))
        linkCount.set(Int64(summary.links))
        localEndpoints.set(Int64(summary.localEndpoints))
        let current = Array(state.links.values)
        links.withLock { series in
            var seen: Set<String> = []
            for link in current {
                seen.insert(link.name)
                if series[link.name] == nil { series[link.name] = makeLinkSeries(link.name) }
                let s = series[link.name]!
                if let stats = link.statistics {
                    for (name, _, path) in Self.linkCounterNames { s.counters[name]?.set(stats[keyPath: path]) }
                }
                s.gauges["up"]?.set(to: link.operState == .up ? 1 : 0)
                s.gauges["mtu"]?.set(Int64(link.mtu ?? 0))
            }
            for (name, s) in series where !seen.contains(name) {
                for counter in s.handles { registry.unregisterCounter(counter) }
                for gauge in s.gaugeHandles { registry.unregisterGauge(gauge) }
                series.removeValue(forKey: name)
            }
        }
    }

    private func makeLinkSeries(_ interface: String) -> LinkSeries {
        let labels = [("interface", interface)]
        var counters: [String: KernelCounter] = [:]
        var handles: [Counter] = []
        for (name, help, _) in Self.linkCounterNames {
            let counter = registry.counter(name: name, labels: labels, help: help)
            handles.append(counter)
            counters[name] = KernelCounter(counter)
        }
        let up = registry.gauge(
            name: "pathwatch_link_up", labels: labels, help: "1 when the interface's operational state is up (IFLA_OPERSTATE).")
        let mtu = registry.gauge(name: "pathwatch_link_mtu_bytes", labels: labels, help: "The interface's MTU.")
        return LinkSeries(counters: counters, gauges: ["up": up, "mtu": mtu], handles: handles, gaugeHandles: [up, mtu])
    }

    /// Adds a slice's collector to every scrape.

    /// The Prometheus text exposition of every series.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        var page = PrometheusPage()
        for collector in collectors.withLock({ $0 }) { collector.collect(into: &page) }
        buffer.append(contentsOf: page.bytes)
        paths.emit(into: &buffer)
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
