import Foundation
import Testing

/// Detection keeps working while the agent is abused: a thousand concurrent scrapes, and a
/// conntrack event burst that overruns its queue. The pod hairpin lab is the detector's probe.
@Suite(
    "Detection under stress", .serialized,
    .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct DetectionUnderStressTests {
    func hairpinThroughTheFrontend(_ lab: HairpinLab) throws -> BackgroundProcess {
        try BackgroundProcess(["socat", "-u", "OPEN:/dev/null", "TCP:10.0.9.9:80,connect-timeout=3"], in: lab.podA, name: "client")
    }

    @Test func aHairpinIsNamedWhileAThousandScrapesHitTheEndpoint() throws {
        try withNamespaces(HairpinTests.labels) { nss in
            let lab = try HairpinLab(nss, backend: .podB)
            let listener = try BackgroundProcess(
                ["socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo hello"], in: lab.podB, name: "listener")
            defer { listener.stop() }
            let agent = try AgentProcess(in: lab.node, config: "http:\n  maxConnections: 64\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            let url = "http://127.0.0.1:\(agent.port)/metrics"
            // curl takes one `-o` per URL.
            let scrapes = Array(repeating: ["-o", "/dev/null", url], count: 1000).flatMap { $0 }
            let crowd = try BackgroundProcess(
                ["curl", "-s", "--parallel", "--parallel-max", "200", "-m", "20"] + scrapes, in: lab.node, name: "crowd")
            defer { crowd.stop() }
            Thread.sleep(forTimeInterval: 0.3)
            let client = try hairpinThroughTheFrontend(lab)
            defer { client.stop() }
            // The endpoint is saturated (the test's own requests may be refused): watch the log.
            #expect(
                eventually(within: 2, every: 0.1) { agent.log.contains("hairpin: connections through a frontend come back to this node") },
                "named while the endpoint is saturated")
            crowd.process.waitUntilExit()
            #expect(try agent.findings(kind: "hairpin").count == 1)
            let served = try agent.metrics().value("pathwatch_http_responses_total", ["code": "2xx"]) ?? 0
            #expect(served > 100, "the scrapes were really served meanwhile (\(served))")
            #expect(try agent.get("/healthz").status == 200)
        }
    }

    @Test func aHairpinIsNamedRightAfterAConntrackOverrun() throws {
        try withNamespaces(HairpinTests.labels) { nss in
            let lab = try HairpinLab(nss, backend: .podB)
            let listener = try BackgroundProcess(
                ["socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo hello"], in: lab.podB, name: "listener")
            defer { listener.stop() }
            let agent = try AgentProcess(in: lab.node, config: "conntrack:\n  receiveBufferBytes: 65536\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            // A burst of 20,000 flows while the agent cannot read: its 64 KiB queue overruns. The
            // flows leave the node's own address (loopback flows never reach the agent: the
            // kernel's event filter keeps them, as every flow no detector reads).
            agent.signal(SIGSTOP)
            try lab.node.exec([
                "python3", "-c",
                "import socket\nfor i in range(20000):\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.0.0.1', 0)); s.sendto(b'x', ('10.0.0.1', 9)); s.close()",
            ])
            agent.signal(SIGCONT)
            #expect(
                try eventually(within: 5, every: 0.2) {
                    (try agent.metrics().value("pathwatch_netlink_overruns_total", ["source": "conntrack"]) ?? 0) >= 1
                }, "the burst overran the queue")
            let client = try hairpinThroughTheFrontend(lab)
            defer { client.stop() }
            #expect(
                try eventually(within: 2, every: 0.1) { try agent.findings(kind: "hairpin").count == 1 },
                "named right after the overrun, before or while the table is re-dumped")
            #expect(
                try eventually(within: 12, every: 0.2) { try agent.metrics().value("pathwatch_conntrack_resync_pending") == 0 },
                "and the table reconciled")
        }
    }
}
