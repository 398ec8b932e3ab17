import PathwatchCore

/// The pod-hairpin slice's metrics, read from its engine at scrape time.
public struct HairpinCollector: ScrapeCollector {
    let statistics: @Sendable () -> HairpinEngine.Statistics

    public init(_ service: HairpinService) { statistics = { service.statistics } }
    init(statistics: @escaping @Sendable () -> HairpinEngine.Statistics) { self.statistics = statistics }

    public func collect(into page: inout PrometheusPage) {
        let s = statistics()
        page.counter(
            "pathwatch_hairpin_flows_total",
            help:
                "Connections a load balancer sent back to this node, by frontend.",
            samples: s.flows.sorted { $0.key < $1.key }.map { ([("frontend", $0.key)], $0.value) })
        page.counter(
            "pathwatch_hairpin_flows_unanswered_total",
            help: "Hairpinned connections never answered, by frontend.",
            samples: s.unanswered.sorted { $0.key < $1.key }.map { ([("frontend", $0.key)], $0.value) })
        page.gauge(
            "pathwatch_hairpin_tracked_flows",
            help:
                "Flows the hairpin detector remembers (bound: hairpin.maxTrackedFlows).",
            value: Double(s.tracked))
        page.counter(
            "pathwatch_hairpin_findings_overflow_total",
            help:
                "Hairpinned flows through frontends beyond hairpin.maxFindings (finding \"other\").",
            value: s.overflowFlows)
    }
}
