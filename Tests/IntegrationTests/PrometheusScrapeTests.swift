import Foundation
import Testing

/// A real Prometheus server scrapes the agent inside the namespace.
@Suite(
    "Prometheus scrape", .serialized, .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct PrometheusScrapeTests {
    @Test func prometheusStoresTheVethCounters() throws {
        guard Shell.exists("prometheus") else {
            Issue.record("the prometheus server (Debian package prometheus) is not installed; scripts/setup installs it")
            return
        }
        try withNamespaces(["prom", "peer"]) { nss in
            let (node, peer) = (nss[0], nss[1])
            try node.connect("veth-pw", to: peer, "peer0", localAddress: "10.4.1.10/24", remoteAddress: "10.4.1.1/24")
            let agent = try AgentProcess(in: node, config: "conntrack:\n  enabled: false\n")
            defer { agent.stop() }
            try agent.waitUntilReady()

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pathwatch-prom-\(node.name)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let config = directory.appendingPathComponent("prometheus.yml")
            try """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: pathwatch
                static_configs:
                  - targets: ["127.0.0.1:\(agent.port)"]
            """.write(to: config, atomically: true, encoding: .utf8)
            let promPort = agent.port + 1000
            let prometheus = try BackgroundProcess(
                [
                    "prometheus", "--config.file=\(config.path)", "--storage.tsdb.path=\(directory.path)/data",
                    "--web.listen-address=127.0.0.1:\(promPort)",
                ], in: node, name: "prometheus")
            defer { prometheus.stop() }

            let query = "pathwatch_link_rx_bytes_total{interface=\"veth-pw\"}"
            var lastAnswer = ""
            let found = try eventually(within: 30, every: 0.5) {
                lastAnswer = try node.exec(
                    ["curl", "-s", "-m", "2", "-G", "http://127.0.0.1:\(promPort)/api/v1/query", "--data-urlencode", "query=\(query)"],
                    check: false)
                return lastAnswer.contains("\"interface\":\"veth-pw\"") && lastAnswer.contains("\"status\":\"success\"")
            }
            #expect(found, "Prometheus answered: \(lastAnswer)\nits log:\n\(prometheus.output.suffix(2000))")
            let up = try node.exec([
                "curl", "-s", "-G", "http://127.0.0.1:\(promPort)/api/v1/query", "--data-urlencode", "query=up{job=\"pathwatch\"}",
            ])
            #expect(up.contains("\"1\""), "the target is up: \(up)")
        }
    }

    @Test func promtoolFindsNothingToLint() throws {
        guard Shell.exists("promtool") else {
            Issue.record("promtool (Debian package prometheus) is not installed; scripts/setup installs it")
            return
        }
        try withNamespace("lint") { ns in
            try ns.activateConntrack()
            let agent = try AgentProcess(in: ns)
            defer { agent.stop() }
            try agent.waitUntilReady()
            let body = try agent.get("/metrics").body
            let lint = try Shell.run(["promtool", "check", "metrics"], input: body, check: false)
            #expect(lint.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "promtool check metrics said:\n\(lint)")
        }
    }
}
