/// A slice's metrics, written from its own state when `/metrics` is served (node_exporter's
/// `Update(ch)`): nothing mirrors the state into a registry between scrapes.
public protocol ScrapeCollector: Sendable {
    func collect(into page: inout PrometheusPage)
}
