import Foundation
import Testing

/// The pod hairpin, reproduced for real: the agent on the node names the frontend within a
/// second of the first SYN, and stays quiet for direct traffic, SNAT and other-node backends.
@Suite(
    "Hairpin detection", .serialized, .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct HairpinTests {
    static let labels = ["node", "podA", "podB", "lb", "node2"]

    func listen(_ ns: Namespace) throws -> BackgroundProcess {
        let listener = try BackgroundProcess(["socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo hello"], in: ns, name: "listener")
        Thread.sleep(forTimeInterval: 0.3)
        return listener
    }

    @Test func aFrontendThatSendsAPodsConnectionBackToItsNodeIsNamed() throws {
        try withNamespaces(Self.labels) { nss in
            let lab = try HairpinLab(nss, backend: .podB)
            let listener = try listen(lab.podB)
            defer { listener.stop() }
            let agent = try AgentProcess(in: lab.node)
            defer { agent.stop() }
            try agent.waitUntilReady()

            // Direct pod-to-pod traffic works and is not a hairpin.
            #expect(HairpinLab.connect(from: lab.podA, to: "10.0.1.21", port: 8080))
            // Through the frontend: the answer comes from 10.0.1.21, podA resets it, no connection.
            let client = try BackgroundProcess(
                ["socat", "-u", "OPEN:/dev/null", "TCP:10.0.9.9:80,connect-timeout=3"], in: lab.podA, name: "client")
            defer { client.stop() }
            #expect(
                try eventually(within: 1, every: 0.05) { try agent.findings(kind: "hairpin").count == 1 },
                "within a second of the first SYN")
            let finding = try #require(try agent.findings(kind: "hairpin").first)
            let evidence = try #require(finding["evidence"] as? [String: Any])
            #expect(evidence["frontend"] as? String == "10.0.9.9:80")
            #expect(evidence["sourceEndpoints"] as? [String] == ["10.0.1.20"])
            #expect(evidence["localTargets"] as? [String] == ["10.0.1.21:8080"])
            #expect(((finding["remediation"] as? [String: Any])?["options"] as? [String])?.first?.contains("Proxy Protocol v2") == true)
            #expect((try agent.metrics().value("pathwatch_hairpin_flows_total", ["frontend": "10.0.9.9:80"]) ?? 0) >= 1)
            #expect(agent.log.contains("hairpin: connections through a frontend come back to this node"))
            client.process.waitUntilExit()
            #expect(client.process.terminationStatus != 0, "the hairpinned connection fails, as in the incident")
        }
    }

    @Test func anIPv6FrontendIsNamedToo() throws {
        try withNamespaces(Self.labels) { nss in
            let lab = try HairpinLab(nss, backend: .podB)
            let listener = try BackgroundProcess(
                ["socat", "TCP6-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo hello"], in: lab.podB, name: "listener6")
            defer { listener.stop() }
            Thread.sleep(forTimeInterval: 0.3)
            let agent = try AgentProcess(in: lab.node)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(HairpinLab.connect(from: lab.podA, to: "fd00:1::21", port: 8080), "direct IPv6 pod-to-pod works")
            let client = try BackgroundProcess(
                ["socat", "-u", "OPEN:/dev/null", "TCP6:[fd00:9::9]:80,connect-timeout=3"], in: lab.podA, name: "client6")
            defer { client.stop() }
            #expect(try eventually(within: 1, every: 0.05) { try agent.findings(kind: "hairpin").count == 1 }, "log:\n\(agent.log)")
            let finding = try #require(try agent.findings(kind: "hairpin").first)
            let evidence = try #require(finding["evidence"] as? [String: Any])
            #expect(evidence["frontend"] as? String == "[fd00:9::9]:80")
            #expect(evidence["localTargets"] as? [String] == ["[fd00:1::21]:8080"])
        }
    }

    @Test(arguments: [HairpinLab.Backend.otherNode, .podBWithSourceNAT])
    func noFindingWhenTheBalancerDoesNotHairpin(backend: HairpinLab.Backend) throws {
        try withNamespaces(Self.labels) { nss in
            let lab = try HairpinLab(nss, backend: backend)
            let listener = try listen(backend == .otherNode ? lab.node2 : lab.podB)
            defer { listener.stop() }
            let agent = try AgentProcess(in: lab.node)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(HairpinLab.connect(from: lab.podA, to: "10.0.9.9", port: 80), "the frontend works for \(backend)")
            Thread.sleep(forTimeInterval: 1)
            #expect(try agent.findings(kind: "hairpin").isEmpty)
            #expect(try agent.metrics().value("pathwatch_conntrack_events_total", ["type": "new"]) ?? 0 > 0, "conntrack saw the traffic")
        }
    }
}
