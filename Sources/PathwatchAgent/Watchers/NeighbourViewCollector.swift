import PathwatchCore

/// The model's neighbour view at scrape time: `pathwatch_neighbour_entries` and
/// `pathwatch_neighbour_entries_dropped_total` (docs/metrics.md).
public struct NeighbourViewCollector: ScrapeCollector {
    private let view: @Sendable () -> NeighbourView.Summary

    public init(view: @escaping @Sendable () -> NeighbourView.Summary) { self.view = view }

    public func collect(into page: inout PrometheusPage) {
        let summary = view()
        page.gauge(
            "pathwatch_neighbour_entries",
            help: "Unanswered (INCOMPLETE, FAILED) ARP/ND entries in the model.",
            value: Double(summary.entries))
        page.counter(
            "pathwatch_neighbour_entries_dropped_total",
            help: "Unanswered ARP/ND entries not kept: the view was full.",
            value: summary.droppedTotal)
    }
}
