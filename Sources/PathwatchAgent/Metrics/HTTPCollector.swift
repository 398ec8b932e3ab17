/// The HTTP endpoint's response and rejection counters, read from the server's statistics at
/// scrape time (zeros before the server runs). The web configuration's reasons (`tls`,
/// `unauthorized`, `auth_busy`) are served only with `--web-config`, so an agent without one
/// serves exactly the series it did before.
struct HTTPCollector: ScrapeCollector {
    let read: @Sendable () -> HTTPServerStatistics.Snapshot?
    var webSecurity = false

    func collect(into page: inout PrometheusPage) {
        let s = read() ?? HTTPServerStatistics.Snapshot()
        page.counter(
            "pathwatch_http_responses_total", help: "HTTP responses by status class.",
            samples: (1...5).map { ([("code", "\($0)xx")], UInt64(s.responses(statusClass: $0))) })
        var rejections: [(String, Int)] = [
            ("connection_limit", s.rejectedConnections), ("head_too_large", s.requestHeadTooLarge),
            ("body_too_large", s.requestBodyTooLarge), ("malformed", s.malformedRequests), ("idle_timeout", s.idleTimeouts),
            ("head_timeout", s.requestHeadTimeouts), ("write_timeout", s.writeTimeouts), ("state_busy", s.stateRequestsBusy),
        ]
        if webSecurity { rejections += [("tls", s.tlsFailures), ("unauthorized", s.unauthorized), ("auth_busy", s.authBusy)] }
        page.counter(
            "pathwatch_http_rejections_total", help: "HTTP requests or connections refused, by reason.",
            samples: rejections.map { ([("reason", $0.0)], UInt64($0.1)) })
        page.gauge("pathwatch_http_open_connections", help: "HTTP connections open now.", value: Double(s.openConnections))
    }
}
