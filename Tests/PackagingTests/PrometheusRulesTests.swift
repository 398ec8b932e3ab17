import Foundation
import PathwatchCore
import Testing
import Yams

@Suite("Prometheus alert rules")
struct PrometheusRulesTests {
    struct Rule {
        var alert: String
        var expression: String
    }

    /// The alerting rules (recording rules are in ``recordings()``).
    static func rules() throws -> [Rule] {
        try allRules().filter { $0["alert"] != nil }.map {
            Rule(alert: $0["alert"] as? String ?? "", expression: $0["expr"] as? String ?? "")
        }
    }

    /// Recorded series name to expression.
    static func recordings() throws -> [String: String] {
        Dictionary(
            uniqueKeysWithValues: try allRules().compactMap { rule in
                (rule["record"] as? String).map { ($0, rule["expr"] as? String ?? "") }
            })
    }

    static func allRules() throws -> [[String: Any]] {
        let document = try #require(try Yams.load(yaml: try Tool.read("packaging/prometheus/alerts.yml")) as? [String: Any])
        let groups = try #require(document["groups"] as? [[String: Any]])
        return try groups.flatMap { group in try #require(group["rules"] as? [[String: Any]]) }
    }

    @Test func promtoolChecksTheRules() throws {
        try Tool.require("promtool")
        let result = try Tool.run(["promtool", "check", "rules", "packaging/prometheus/alerts.yml"])
        #expect(result.output.contains("SUCCESS"), "\(result.output)")
    }

    @Test func promtoolUnitTestsPass() throws {
        try Tool.require("promtool")
        try Tool.run(["promtool", "test", "rules", "packaging/prometheus/alerts_test.yml"])
    }

    /// One test group per alert, named after it, that expects it to fire.
    @Test func everyAlertHasAUnitTest() throws {
        let tests = try #require(try Yams.load(yaml: try Tool.read("packaging/prometheus/alerts_test.yml")) as? [String: Any])
        let groups = try #require(tests["tests"] as? [[String: Any]])
        var firing: Set<String> = []
        for group in groups {
            for check in group["alert_rule_test"] as? [[String: Any]] ?? [] {
                if let name = check["alertname"] as? String, !(check["exp_alerts"] as? [Any] ?? []).isEmpty { firing.insert(name) }
            }
        }
        let alerts = try Self.rules().map(\.alert)
        #expect(Set(alerts).count == alerts.count, "alert names repeat")
        #expect(Set(alerts).subtracting(firing).isEmpty, "alerts with no test that makes them fire")
        #expect(Set(groups.compactMap { $0["name"] as? String }) == Set(alerts))
    }

    /// Alerts only read series the agent serves now (and `up`), or series recorded from them.
    @Test func everyExpressionReadsExportedMetrics() throws {
        let recordings = try Self.recordings()
        let exported = try Documented.metricNames()
        for (name, expression) in recordings {
            #expect(PromQL.metricNames(in: expression).isSubset(of: exported), "recording \(name) reads a metric not in docs/metrics.md")
        }
        for rule in try Self.rules() {
            let names = PromQL.metricNames(in: rule.expression)
            #expect(!names.isEmpty, "\(rule.alert): no metric found in \(rule.expression)")
            let unknown = names.subtracting(exported).subtracting(recordings.keys)
            #expect(unknown.isEmpty, "\(rule.alert) reads \(unknown.sorted()), not in docs/metrics.md")
        }
    }

    /// Each finding kind the agent reports has an alert, once per cause across the fleet: the
    /// recording rule counts nodes by kind and the cause labels of `pathwatch_finding_causes`.
    /// The informational `peer_path_degraded` (one peer's own loss) has none, and no alert may match it.
    @Test func everyFindingKindHasAnAlertPerCause() throws {
        let recorded = try #require(try Self.recordings()["pathwatch:finding_causes:nodes"])
        #expect(recorded == "count by (job, kind, frontend, destination, path) (pathwatch_finding_causes > 0)")
        let metrics = try Tool.read("docs/metrics.md")
        let row = try #require(metrics.split(separator: "\n").first { $0.hasPrefix("| `pathwatch_findings`") })
        let kinds = FindingKind.allCases.map(\.rawValue)
        for kind in kinds { #expect(row.contains("`\(kind)`"), "the pathwatch_findings row of docs/metrics.md lacks \(kind)") }
        let expressions = try Self.rules().map(\.expression)
        for kind in kinds where kind != FindingKind.peerPathDegraded.rawValue {
            #expect(expressions.contains { $0.hasPrefix("pathwatch:finding_causes:nodes{kind=\"\(kind)\"} > 0") }, "no alert for finding kind \(kind)")
        }
        #expect(!expressions.contains { $0.contains("peer_path_degraded") || !$0.contains("kind=") && $0.contains("pathwatch_findings") })
    }

    /// docs/runbooks.md has a section per alert, and each alert links to it.
    @Test func everyAlertHasARunbookSection() throws {
        let runbooks = try Tool.read("docs/runbooks.md")
        let headings = Set(runbooks.split(separator: "\n").filter { $0.hasPrefix("## ") }.map { String($0.dropFirst(3)) })
        let text = try Tool.read("packaging/prometheus/alerts.yml")
        for rule in try Self.rules() {
            #expect(headings.contains(rule.alert), "docs/runbooks.md has no \"## \(rule.alert)\" section")
            #expect(text.contains("runbook: \"docs/runbooks.md#\(rule.alert.lowercased())\""), "\(rule.alert) has no runbook link")
        }
    }
}

@Suite("PromQL metric names")
struct PromQLTests {
    @Test func findsMetricsAndSkipsLabelsFunctionsAndVariables() {
        let names = PromQL.metricNames(
            in: #"sum by (instance, source) (increase(pathwatch_netlink_overruns_total{instance=~"$instance"}[$__rate_interval])) "#
                + #"/ on(instance) group_left pathwatch_ready > 0.5 or vector(0)"#)
        #expect(names == ["pathwatch_netlink_overruns_total", "pathwatch_ready"])
        #expect(PromQL.metricNames(in: "label_values(pathwatch_build_info, instance)") == ["pathwatch_build_info"])
    }

    @Test func aMetricTheAgentDoesNotServeIsCaught() throws {
        let names = PromQL.metricNames(in: #"sum by (path) (pathwatch_not_a_metric_we_serve{path="public"})"#)
        #expect(names == ["pathwatch_not_a_metric_we_serve"])
        #expect(!names.isSubset(of: try Documented.metricNames()))
    }
}
