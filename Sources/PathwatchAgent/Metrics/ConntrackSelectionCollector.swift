import Prometheus
import Synchronization

/// What the agent keeps of conntrack, read at scrape time: the flows its table tracks, those
/// its bound left out, and what the kernel's event filter lets through.
final class ConntrackSelectionCollector: Sendable {
    private let table: LiveConntrackTable
    private let selector: ConntrackEventSelector
    private let tracked: Gauge
    private let trackedMax: Gauge
    private let untracked: Counter
    private let untrackedSeen = Mutex(0)
    private let filterPrefixes: [String: Gauge]

    init(table: LiveConntrackTable, selector: ConntrackEventSelector, registry: PrometheusCollectorRegistry) {
        self.table = table
        self.selector = selector
        tracked = registry.gauge(
            name: "pathwatch_conntrack_tracked_flows",
            help:
                "Flows in pathwatch's conntrack table: those sourced from the node's own addresses (what the live-traffic route scan reads)."
        )
        trackedMax = registry.gauge(
            name: "pathwatch_conntrack_tracked_flows_max", help: "The table's bound (conntrack.maxTrackedFlows).")
        untracked = registry.counter(
            name: "pathwatch_conntrack_untracked_flows_total",
            help: "Flows left out of pathwatch's conntrack table because it was at conntrack.maxTrackedFlows.")
        filterPrefixes = registry.gauges(
            name: "pathwatch_conntrack_filter_prefixes", label: "family", values: ["ipv4", "ipv6"],
            help: "Source prefixes in the kernel's conntrack event filter; 0 when that family is not filtered (every event crosses)."
        ) {
            $0
        }
    }

    func refresh() {
        tracked.set(Int64(table.count))
        trackedMax.set(Int64(clamping: table.maxFlows))
        let total = table.untrackedForBound
        let growth = untrackedSeen.withLock { seen in
            defer { seen = max(seen, total) }
            return max(0, total - seen)
        }
        if growth > 0 { untracked.increment(by: Int64(growth)) }
        let attached = selector.attached
        filterPrefixes["ipv4"]?.set(Int64(attached?.ipv4?.count ?? 0))
        filterPrefixes["ipv6"]?.set(Int64(attached?.ipv6 == nil ? 0 : 1))
    }
}
