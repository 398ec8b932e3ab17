/// What the agent keeps of conntrack, read at scrape time: the flows its table tracks, those
/// its bound left out, and what the kernel's event filter lets through.
struct ConntrackSelectionCollector: ScrapeCollector {
    let table: LiveConntrackTable
    let selector: ConntrackEventSelector

    func collect(into page: inout PrometheusPage) {
        page.gauge(
            "pathwatch_conntrack_tracked_flows",
            help:
                "Flows in pathwatch's conntrack table (sourced from the node's addresses).",
            value: Double(table.count))
        page.gauge(
            "pathwatch_conntrack_tracked_flows_max", help: "conntrack.maxTrackedFlows.", value: Double(table.maxFlows))
        page.counter(
            "pathwatch_conntrack_untracked_flows_total",
            help: "Flows left out of pathwatch's conntrack table at its bound.",
            value: UInt64(clamping: table.untrackedForBound))
        let attached = selector.attached
        page.gauge(
            "pathwatch_conntrack_filter_prefixes",
            help: "Source prefixes in the kernel's conntrack event filter; 0: family not filtered.",
            samples: [
                (labels: [("family", "ipv4")], value: Double(attached?.ipv4?.count ?? 0)),
                (labels: [("family", "ipv6")], value: attached?.ipv6 == nil ? 0 : 1),
            ])
    }
}
