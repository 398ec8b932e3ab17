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
            help: "Unanswered ARP/ND entries (INCOMPLETE, FAILED) in the model; resolved entries are not kept.",
            value: Double(summary.entries))
        page.counter(
            "pathwatch_neighbour_entries_dropped_total",
            help: "Unanswered ARP/ND entries not kept because the model's neighbour view was full (4096 entries).",
            value: summary.droppedTotal)
    }
}
