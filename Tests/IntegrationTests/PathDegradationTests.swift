import Foundation
import Testing

/// "Ghost in the Edge" in namespaces (../shared/DESIGN.md): an instance behind an edge that 1:1
/// NATs a public address (203.0.113.10, TEST-NET-3) to it and drops a share of the public
/// packets with nft `numgen random`, beside a clean private path from a jump host. Reverse
/// iperf3 makes the instance send on both paths; the agent in the instance namespace must tell
/// them apart from its own TCP sockets.
///
///     ext 198.51.100.20 ── edge (NAT 203.0.113.10 ↔ 10.0.1.10, loss) ── inst 10.0.1.10
///     jump 10.0.2.20 ──────┘
@Suite(
    "Public path degraded", .serialized,
    .enabled(if: Namespace.isRoot && Shell.exists("iperf3"), "needs root (namespaces) and iperf3 (scripts/setup installs it)"))
struct PathDegradationTests {
    static let publicClient = "198.51.100.20"
    static let privateClient = "10.0.2.20"

    /// Short windows so each scenario takes seconds, not minutes.
    static let config = """
        conntrack:
          enabled: false
        paths:
          sampleIntervalSeconds: 1
          windowSeconds: 5
          sustainSeconds: 3
          clearSeconds: 4
          minBytes: 200000
        """

    struct Lab {
        let instance: Namespace
        let edge: Namespace
        let external: Namespace
        let jump: Namespace
        let agent: AgentProcess

        func loss(onPublic: Bool, onPrivate: Bool) throws {
            var rules = ""
            if onPublic {
                rules += "iifname \"e-ext\" numgen random mod 100 < 15 drop\noifname \"e-ext\" numgen random mod 100 < 15 drop\n"
            }
            if onPrivate {
                rules += "iifname \"e-jump\" numgen random mod 100 < 15 drop\noifname \"e-jump\" numgen random mod 100 < 15 drop\n"
            }
            try edge.nft(
                "flush chain ip edge loss\n" + rules.split(separator: "\n").map { "add rule ip edge loss \($0)" }.joined(separator: "\n"))
        }

        /// Reverse iperf3 from both clients: the instance sends, so its own sockets carry the loss.
        func traffic(seconds: Int) throws -> [BackgroundProcess] {
            [
                try BackgroundProcess(
                    ["iperf3", "-c", "203.0.113.10", "-p", "5201", "-R", "-t", "\(seconds)", "-b", "20M"], in: external,
                    name: "iperf-public"),
                try BackgroundProcess(
                    ["iperf3", "-c", "10.0.1.10", "-p", "5202", "-R", "-t", "\(seconds)", "-b", "20M"], in: jump, name: "iperf-private"),
            ]
        }

        func findings() throws -> [[String: Any]] {
            let body = try agent.get("/findings").body
            let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            return object?["findings"] as? [[String: Any]] ?? []
        }

        func finding(_ kind: String) throws -> [String: Any]? { try findings().first { $0["kind"] as? String == kind } }
    }

    /// Builds the lab, starts the agent and the iperf3 servers, runs `body`, tears it all down.
    func withLab(_ body: (Lab) throws -> Void) throws {
        try withNamespaces(["inst", "edge", "ext", "jump"]) { nss in
            let (instance, edge, external, jump) = (nss[0], nss[1], nss[2], nss[3])
            try instance.connect("eth0", to: edge, "e-inst", localAddress: "10.0.1.10/24", remoteAddress: "10.0.1.1/24")
            try jump.connect("j0", to: edge, "e-jump", localAddress: "10.0.2.20/24", remoteAddress: "10.0.2.1/24")
            try external.connect("x0", to: edge, "e-ext", localAddress: "198.51.100.20/24", remoteAddress: "198.51.100.1/24")
            try instance.ip("route", "add", "default", "via", "10.0.1.1")
            try jump.ip("route", "add", "default", "via", "10.0.2.1")
            try external.ip("route", "add", "default", "via", "198.51.100.1")
            try edge.exec(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
            try edge.nft(
                """
                table ip edge {
                    chain pre { type nat hook prerouting priority dstnat; ip daddr 203.0.113.10 dnat to 10.0.1.10; }
                    chain post { type nat hook postrouting priority srcnat; ip saddr 10.0.1.10 oifname "e-ext" snat to 203.0.113.10; }
                    chain loss { type filter hook forward priority 0; }
                }
                """)
            let agent = try AgentProcess(in: instance, config: Self.config)
            defer { agent.stop() }
            try agent.waitUntilReady()
            let servers = [
                try BackgroundProcess(["iperf3", "-s", "-p", "5201"], in: instance, name: "iperf-s-public"),
                try BackgroundProcess(["iperf3", "-s", "-p", "5202"], in: instance, name: "iperf-s-private"),
            ]
            defer {
                // iperf3 -s ignores SIGTERM while idle; these are our own processes, ended by PID.
                for s in servers where s.process.isRunning { kill(s.process.processIdentifier, SIGKILL) }
                for s in servers { s.stop() }
            }
            Thread.sleep(forTimeInterval: 0.3)
            try body(Lab(instance: instance, edge: edge, external: external, jump: jump, agent: agent))
        }
    }

    @Test func publicLossRaisesTheFindingNamingThePeerAndClearsWhenItStops() throws {
        try withLab { lab in
            try lab.loss(onPublic: true, onPrivate: false)
            let clients = try lab.traffic(seconds: 40)
            defer { for c in clients { c.stop() } }
            let started = Date()
            var raised: [String: Any]?
            _ = try eventually(within: 60, every: 0.5) {
                raised = try lab.finding("public_path_degraded")
                return raised != nil
            }
            let finding = try #require(raised, "no public_path_degraded within 60 s; agent log:\n\(lab.agent.log)")
            #expect(Date().timeIntervalSince(started) < 60)
            let summary = finding["summary"] as? String ?? ""
            #expect(summary.contains(Self.publicClient), "\(summary)")
            let evidence = try #require(finding["evidence"] as? [String: Any])
            let peers = evidence["worstPeers"] as? [[String: Any]] ?? []
            #expect(peers.first?["address"] as? String == Self.publicClient, "\(peers)")
            #expect((evidence["public"] as? [String: Any])?["status"] as? String == "lossy")
            #expect((evidence["private"] as? [String: Any])?["status"] as? String == "healthy", "\(evidence)")
            #expect(evidence["nicAllowanceCounters"] != nil)
            #expect("\(finding["remediation"] ?? "")".contains("Re-associate"))
            #expect(try lab.finding("path_degraded") == nil)
            let metrics = try lab.agent.metrics()
            #expect(metrics.value("pathwatch_path_degraded", ["path": "public"]) == 1)
            #expect(metrics.value("pathwatch_path_degraded", ["path": "private"]) == 0)
            #expect((metrics.value("pathwatch_tcp_retransmit_ratio", ["path": "public"]) ?? 0) > 0.02)
            #expect((metrics.value("pathwatch_tcp_retransmit_ratio", ["path": "private"]) ?? 1) < 0.02)
            #expect((metrics.value("pathwatch_netstat_tcp_retrans_segs_total") ?? 0) > 0)
            #expect((metrics.value("pathwatch_socket_samples_total", ["result": "success"]) ?? 0) > 0)

            // The edge is fixed (the address re-associated): the finding clears.
            try lab.loss(onPublic: false, onPrivate: false)
            #expect(
                try eventually(within: 20, every: 0.5) { try lab.finding("public_path_degraded") == nil },
                "the finding did not clear; agent log:\n\(lab.agent.log)")
            #expect(try lab.agent.metrics().value("pathwatch_path_degraded", ["path": "public"]) == 0)
        }
    }

    @Test func aHealthyNodeRaisesNothing() throws {
        try withLab { lab in
            let clients = try lab.traffic(seconds: 12)
            defer { for c in clients { c.stop() } }
            let deadline = Date().addingTimeInterval(11)
            var sawTraffic = false
            while Date() < deadline {
                #expect(try lab.findings().isEmpty, "a healthy run raised a finding")
                let m = try lab.agent.metrics()
                if (m.value("pathwatch_path_bytes_sent_total", ["path": "public"]) ?? 0) > 1_000_000,
                    (m.value("pathwatch_path_bytes_sent_total", ["path": "private"]) ?? 0) > 1_000_000
                {
                    sawTraffic = true
                }
                Thread.sleep(forTimeInterval: 1)
            }
            #expect(sawTraffic, "the agent did not see traffic on both paths; log:\n\(lab.agent.log)")
            let m = try lab.agent.metrics()
            #expect(m.value("pathwatch_path_degraded", ["path": "public"]) == 0)
            #expect(m.value("pathwatch_path_degraded", ["path": "private"]) == 0)
        }
    }

    @Test func lossOnBothPathsPointsAtTheNode() throws {
        try withLab { lab in
            try lab.loss(onPublic: true, onPrivate: true)
            let clients = try lab.traffic(seconds: 40)
            defer { for c in clients { c.stop() } }
            var raised: [String: Any]?
            _ = try eventually(within: 60, every: 0.5) {
                raised = try lab.finding("path_degraded")
                return (raised?["evidence"] as? [String: Any])?["path"] as? String == "node"
            }
            let finding = try #require(raised, "no path_degraded within 60 s; agent log:\n\(lab.agent.log)")
            #expect((finding["evidence"] as? [String: Any])?["path"] as? String == "node")
            #expect(try lab.finding("public_path_degraded") == nil)
            let metrics = try lab.agent.metrics()
            #expect(metrics.value("pathwatch_path_degraded", ["path": "public"]) == 1)
            #expect(metrics.value("pathwatch_path_degraded", ["path": "private"]) == 1)
        }
    }
}
