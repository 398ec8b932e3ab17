import Foundation
import Testing

/// Conntrack events counted by the agent match, exactly, what conntrack-tools sees.
@Suite("Conntrack events", .serialized, .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct ConntrackEventTests {
    /// Conntrack on, but not for the agent's own HTTP port, so scrapes add no events.
    func activate(_ ns: Namespace, sparing port: Int) throws {
        try ns.nft(
            """
            table inet pwtest {
                chain raw_out { type filter hook output priority raw; tcp dport \(port) notrack; tcp sport \(port) notrack; }
                chain raw_pre { type filter hook prerouting priority raw; tcp dport \(port) notrack; tcp sport \(port) notrack; }
                chain out { type filter hook output priority 0; ct state new counter; }
            }
            """)
    }

    func eventCounts(_ metrics: Metrics) -> [String: Double] {
        Dictionary(
            uniqueKeysWithValues: ["new", "update", "destroy"].map {
                ($0, metrics.value("pathwatch_conntrack_events_total", ["type": $0]) ?? -1)
            })
    }

    @Test func tcpConnectionsAreCountedExactly() throws {
        try withNamespace("ct") { ns in
            let agent = try AgentProcess(in: ns)
            defer { agent.stop() }
            try activate(ns, sparing: agent.port)
            try agent.waitUntilReady()
            #expect(try agent.metrics().value("pathwatch_conntrack_active") != nil)

            let listener = try BackgroundProcess(
                ["socat", "TCP-LISTEN:8080,bind=127.0.0.1,fork,reuseaddr", "SYSTEM:echo hello"], in: ns, name: "listener")
            defer { listener.stop() }
            let watcher = try BackgroundProcess(["stdbuf", "-oL", "conntrack", "-E"], in: ns, name: "conntrack-E")
            defer { watcher.stop() }
            Thread.sleep(forTimeInterval: 0.5)  // conntrack -E and socat subscribe/listen
            let before = eventCounts(try agent.metrics())

            let connections = 10
            for _ in 0..<connections {
                try ns.exec(["socat", "-u", "TCP:127.0.0.1:8080", "OPEN:/dev/null"])
            }
            try ns.exec(["conntrack", "-F"], check: false)
            #expect(
                try eventually(within: 2) {
                    let counts = eventCounts(try agent.metrics())
                    return counts["destroy"]! - before["destroy"]! >= Double(connections)
                })
            Thread.sleep(forTimeInterval: 0.3)  // let conntrack -E print the last lines
            watcher.stop()
            let after = eventCounts(try agent.metrics())
            let lines = watcher.output.split(separator: "\n")
            func seen(_ tag: String) -> Double { Double(lines.filter { $0.contains("[\(tag)]") }.count) }
            #expect(after["new"]! - before["new"]! == seen("NEW"), "conntrack -E saw:\n\(watcher.output)")
            #expect(after["update"]! - before["update"]! == seen("UPDATE"))
            #expect(after["destroy"]! - before["destroy"]! == seen("DESTROY"))
            #expect(lines.filter { $0.contains("[NEW]") && $0.contains("dport=8080") }.count == connections)
        }
    }

    @Test func statisticsAndTheTableAreExported() throws {
        try withNamespace("ctstat") { ns in
            let agent = try AgentProcess(in: ns)
            defer { agent.stop() }
            try activate(ns, sparing: agent.port)
            try agent.waitUntilReady()
            try ns.exec([
                "conntrack", "-I", "-s", "10.9.9.1", "-d", "10.9.9.2", "-p", "udp", "--sport", "1000", "--dport", "53", "-t", "100",
            ])
            #expect(try eventually(within: 1) { try agent.metrics().value("pathwatch_conntrack_flows") == 1 })
            let metrics = try agent.metrics()
            #expect(metrics.value("pathwatch_conntrack_entries") == 1)
            #expect((metrics.value("pathwatch_conntrack_entries_max") ?? 0) > 0)
            #expect(metrics.value("pathwatch_conntrack_stat_found_total") != nil)
            #expect(metrics.value("pathwatch_conntrack_stat_insert_failed_total") != nil)
            #expect(metrics.value("pathwatch_conntrack_active") == 1)
        }
    }

    @Test func anInactiveConntrackIsReportedNotHidden() throws {
        try withNamespace("ctoff") { ns in
            let agent = try AgentProcess(in: ns)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try agent.metrics().value("pathwatch_conntrack_active") == 0)
            #expect(agent.log.contains("stays inactive until something uses it"))
        }
    }
}
