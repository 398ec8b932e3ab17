import Foundation
import Testing

/// Issue 13: the probe's sets of node-local endpoints follow the model, so a pod that appears
/// while the agent runs is in the set before it can send, and its hairpin under strict
/// reverse-path filtering (which conntrack never sees) is named from the packet.
@Suite(
    "Hairpin probe: node-local endpoint sets", .serialized,
    .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct HairpinProbeSetTests {
    @Test func aPodThatAppearsAfterStartIsInTheSetAndItsHairpinIsNamed() throws {
        try withNamespaces(GhostsLab.labels + ["podC"]) { nss in
            let lab = try GhostsLab(Array(nss[0..<4]), arrival: .primary, rpFilter: 1)
            let podC = nss[4]
            // Another network behind the secondary interface: a source from there arriving on
            // eth0 fails the strict check without being local.
            try lab.node.ip("route", "add", "10.0.7.0/24", "via", "10.0.5.2", "dev", "eth1")
            let listener = try BackgroundProcess(
                ["socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo hello"], in: lab.podB, name: "server")
            defer { listener.stop() }
            let agent = try AgentProcess(in: lab.node)
            defer { agent.stop() }
            try agent.waitUntilReady()
            func set(_ name: String) -> String { (try? lab.node.exec(["nft", "list", "set", "inet", "pathwatch", name])) ?? "" }
            #expect(eventually(within: 3) { set("local4").contains("10.0.1.20/31") }, "adjacent pods merged: \(set("local4"))")
            #expect(set("local6").contains("fd00:1::20/127"), "\(set("local6"))")
            #expect(!set("local4").contains("10.0.0.0/24"), "the uplink's subnet is not local: \(set("local4"))")

            // A new pod (CNI: veth, /32 route), then at once its connection through the balancer.
            try lab.attach(podC, "eni-c", "10.0.1.22", "fd00:1::22")
            #expect(eventually(within: 1, every: 0.02) { set("local4").contains("10.0.1.20-10.0.1.22") }, "\(set("local4"))")
            let client = try BackgroundProcess(
                ["socat", "-u", "OPEN:/dev/null", "TCP:10.0.9.9:80,connect-timeout=2"], in: podC, name: "client")
            defer { client.stop() }
            #expect(
                try eventually(within: 1, every: 0.05) { try !agent.findings(kind: "hairpin").isEmpty }, "log:\n\(agent.log)")
            let evidence = try #require(try agent.findings(kind: "hairpin").first?["evidence"] as? [String: Any])
            #expect(evidence["frontend"] as? String == "10.0.9.9:80")
            #expect(evidence["sourceEndpoints"] as? [String] == ["10.0.1.22"], "\(evidence)")
            #expect((evidence["origin"] as? String)?.contains("rp_filter=1 on eth0") == true, "\(evidence)")
            #expect(try eventually(within: 2) { (try agent.metrics().value("pathwatch_syn_probe_endpoint_set_updates_total") ?? 0) >= 2 })

            // Spoofed traffic failing the check from an address that is not local is not logged.
            client.stop()
            Thread.sleep(forTimeInterval: 1.5)  // the rules' counters are read a second after they log
            let before = try agent.metrics().value("pathwatch_syn_probe_reverse_path_total") ?? 0
            _ = try? lab.lb.exec(["python3", "-c", Self.spoofedSyn], check: false)
            Thread.sleep(forTimeInterval: 1.5)
            #expect(try agent.metrics().value("pathwatch_syn_probe_reverse_path_total") == before, "filtered in the kernel by the set")
        }
    }

    /// Issue 13: with the probe off, the kernel's reverse-path counter and the client pod's
    /// unanswered connection make a `hairpin` finding that says what it does not know.
    @Test func withTheProbeOffTheReversePathCounterReportsAHairpinWithoutAFrontend() throws {
        try withNamespaces(GhostsLab.labels) { nss in
            let lab = try GhostsLab(nss, arrival: .primary, rpFilter: 1)
            let agent = try AgentProcess(in: lab.node, config: "hairpin:\n  probe: false\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try agent.get("/readyz").body.contains("self-sourced SYN detection: counter"))
            #expect((try? lab.node.exec(["nft", "list", "table", "inet", "pathwatch"])) == nil, "no table")
            let client = try BackgroundProcess(
                ["socat", "-u", "OPEN:/dev/null", "TCP:10.0.9.9:80,connect-timeout=3"], in: lab.podA, name: "client")
            defer { client.stop() }
            #expect(
                try eventually(within: 3, every: 0.1) { try !agent.findings(kind: "hairpin").isEmpty },
                "log:\n\(agent.log)")
            let evidence = try #require(try agent.findings(kind: "hairpin").first?["evidence"] as? [String: Any])
            #expect(evidence["frontend"] as? String == "unknown")
            #expect((evidence["unansweredFlows"] as? [String])?.first?.contains("10.0.1.20:") == true, "\(evidence)")
            #expect((evidence["unansweredFlows"] as? [String])?.first?.contains("-> 10.0.9.9:80 (tcp)") == true, "\(evidence)")
            #expect((evidence["reversePathDrops"] as? Int ?? 0) >= 1)
            #expect((try agent.metrics().value("pathwatch_reverse_path_filter_packets_total") ?? 0) >= 1)
        }
    }

    /// A SYN from 10.0.7.7 (not on the node) sent to podB through eth0: fails the strict check.
    static let spoofedSyn = """
        import socket, struct
        def csum(b):
            if len(b) % 2: b += b"\\0"
            s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
            return ~s & 0xffff
        src, dst = socket.inet_aton("10.0.7.7"), socket.inet_aton("10.0.1.21")
        tcp = struct.pack("!HHIIBBHHH", 40000, 8080, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
        tcp = tcp[:16] + struct.pack("!H", csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        for _ in range(3): s.sendto(ip + tcp, ("10.0.1.21", 0))
        """
}
