import Foundation
import Testing

@Suite("Grafana dashboard")
struct GrafanaDashboardTests {
    /// Every PromQL query in the dashboard: panel targets and template variable queries.
    static func queries() throws -> [String] {
        let data = try Data(contentsOf: Tool.path("packaging/grafana/pathwatch.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var queries: [String] = []
        func collectPanels(_ panels: [[String: Any]]) {
            for panel in panels {
                for target in panel["targets"] as? [[String: Any]] ?? [] {
                    if let expr = target["expr"] as? String { queries.append(expr) }
                }
                collectPanels(panel["panels"] as? [[String: Any]] ?? [])
            }
        }
        collectPanels(dashboard["panels"] as? [[String: Any]] ?? [])
        let templating = dashboard["templating"] as? [String: Any]
        for variable in templating?["list"] as? [[String: Any]] ?? [] where variable["type"] as? String == "query" {
            if let query = (variable["query"] as? [String: Any])?["query"] as? String { queries.append(query) }
        }
        return queries
    }

    @Test func everyQueryReadsExportedMetrics() throws {
        let exported = try Documented.metricNames()
        let queries = try Self.queries()
        #expect(queries.count >= 20)
        for query in queries {
            let names = PromQL.metricNames(in: query)
            #expect(!names.isEmpty, "no metric found in \(query)")
            #expect(names.isSubset(of: exported), "\(query) reads \(names.subtracting(exported).sorted()), not in docs/metrics.md")
        }
    }

    /// The panels the issue asks for are there (by the metrics they read).
    @Test func coversFindingsConntrackLinksAndAgentHealth() throws {
        let read = try Self.queries().reduce(into: Set<String>()) { $0.formUnion(PromQL.metricNames(in: $1)) }
        for metric in [
            "pathwatch_findings", "pathwatch_conntrack_events_total", "pathwatch_link_rx_errors_total",
            "pathwatch_link_rx_dropped_total", "pathwatch_netlink_overruns_total", "pathwatch_ready", "up",
            "pathwatch_config_reloads_total", "pathwatch_build_info", "pathwatch_finding_causes",
        ] {
            #expect(read.contains(metric), "no panel reads \(metric)")
        }
    }

    /// Every query parses: promtool checks them as recording rules, Grafana variables filled in.
    @Test func everyQueryParses() throws {
        try Tool.require("promtool")
        let rules = try Self.queries().filter { !$0.hasPrefix("label_values(") }.enumerated().map { index, query in
            let filled = query.replacingOccurrences(of: "$__rate_interval", with: "5m").replacingOccurrences(of: "$instance", with: ".*")
            let quoted = filled.replacingOccurrences(of: "'", with: "''")
            return "      - record: dashboard:query\(index)\n        expr: '\(quoted)'\n"
        }
        try Tool.withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("dashboard-queries.yml")
            try ("groups:\n  - name: dashboard\n    rules:\n" + rules.joined()).write(to: file, atomically: true, encoding: .utf8)
            try Tool.run(["promtool", "check", "rules", file.path])
        }
    }
}
