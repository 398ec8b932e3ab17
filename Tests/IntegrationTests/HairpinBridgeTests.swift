import Foundation
import Testing

/// Issue 13: a bridge CNI (flannel's cni0, kubenet's cbr0, Docker-style bridges): the pods live
/// on a subnet behind a bridge, with no host route each. Their hairpin is named all the same:
/// the agent counts the bridge's connected subnet as hosted on the node (no gateway route leaves
/// through it), and a SYN the node forwarded to a pod that is never answered through the node
/// (the pods answer each other across the bridge) is the evidence of harm.
///
///     podA 10.244.1.2 ─┐
///                      cni0 10.244.1.1/24 ─ node ── lb0 10.0.0.1 ─── 10.0.0.2 lb (10.0.9.9:80 → 10.244.1.3:8080)
///     podB 10.244.1.3 ─┘
@Suite(
    "Hairpin: bridge CNI", .serialized, .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct HairpinBridgeTests {
    func attach(_ pod: Namespace, to node: Namespace, _ veth: String, _ address: String) throws {
        try node.ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pod.name)
        try node.ip("link", "set", veth, "master", "cni0", "up")
        try pod.ip("addr", "add", "\(address)/24", "dev", "eth0")
        try pod.ip("link", "set", "eth0", "up")
        try pod.ip("route", "add", "default", "via", "10.244.1.1")
    }

    @Test func aHairpinBetweenPodsOnABridgeIsNamed() throws {
        try withNamespaces(["node", "podA", "podB", "lb"]) { nss in
            let (node, podA, podB, lb) = (nss[0], nss[1], nss[2], nss[3])
            for ns in [node, lb] {
                try ns.exec([
                    "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                ])
            }
            try node.ip("link", "add", "cni0", "type", "bridge")
            try node.ip("addr", "add", "10.244.1.1/24", "dev", "cni0")
            try node.ip("link", "set", "cni0", "up")
            try attach(podA, to: node, "vethA", "10.244.1.2")
            try attach(podB, to: node, "vethB", "10.244.1.3")
            try node.connect("lb0", to: lb, "eth0", localAddress: "10.0.0.1/24", remoteAddress: "10.0.0.2/24")
            try node.ip("route", "add", "10.0.9.9/32", "via", "10.0.0.2")
            try lb.ip("addr", "add", "10.0.9.9/32", "dev", "lo")
            try lb.ip("route", "add", "10.244.1.0/24", "via", "10.0.0.1")
            try lb.nft(
                "table ip lb {\n chain pre { type nat hook prerouting priority -100; ip daddr 10.0.9.9 tcp dport 80 dnat to 10.244.1.3:8080; }\n}\n"
            )
            try node.activateConntrack()
            let listener = try BackgroundProcess(
                ["socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo hello"], in: podB, name: "listener")
            defer { listener.stop() }
            Thread.sleep(forTimeInterval: 0.3)
            let agent = try AgentProcess(in: node)
            defer { agent.stop() }
            try agent.waitUntilReady()

            #expect(HairpinLab.connect(from: podA, to: "10.244.1.3", port: 8080), "pods talk across the bridge")
            let client = try BackgroundProcess(
                ["socat", "-u", "OPEN:/dev/null", "TCP:10.0.9.9:80,connect-timeout=6"], in: podA, name: "client")
            defer { client.stop() }
            #expect(
                try eventually(within: 6, every: 0.1) { try agent.findings(kind: "hairpin").count == 1 },
                "named within the SYN's first retransmits; log:\n\(agent.log)")
            let finding = try #require(try agent.findings(kind: "hairpin").first)
            let evidence = try #require(finding["evidence"] as? [String: Any])
            #expect(evidence["frontend"] as? String == "10.0.9.9:80")
            #expect(evidence["localTargets"] as? [String] == ["10.244.1.3:8080"])
            #expect(evidence["sourceEndpoints"] as? [String] == ["10.244.1.2"])
        }
    }
}
