import Foundation
import Testing

/// Issue 13: healthy traffic on a busy node is never a hairpin. The lab's pods make connections
/// that share a source port with an earlier one to a remote node (Linux does this for different
/// destinations), reach a local pod through a ClusterIP-style VIP DNAT'd on the node, and gossip
/// over UDP from a fixed port (7946 → 7946) to a remote node and a local pod. Every exchange is
/// answered; the agent must raise nothing. The old detector paged for each of these.
@Suite(
    "Hairpin: healthy nodes", .serialized,
    .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct HairpinHealthyNodeTests {
    @Test func portReuseServiceVIPsAndGossipRaiseNoHairpin() throws {
        try withNamespaces(HairpinTests.labels) { nss in
            let lab = try HairpinLab(nss, backend: .otherNode)
            // The pods reach the other node directly, and a ClusterIP-style VIP on the node.
            try lab.node.ip("route", "add", "10.0.2.30/32", "via", "10.0.0.2")
            try lab.node.nft(
                "table ip svc {\n chain pre { type nat hook prerouting priority -100; ip daddr 10.96.0.10 tcp dport 80 dnat to 10.0.1.21:8080; }\n}\n"
            )
            var servers: [BackgroundProcess] = []
            defer { for server in servers { server.stop() } }
            for (ns, name) in [(lab.podB, "podB"), (lab.node2, "node2")] {
                servers.append(
                    try BackgroundProcess(["socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo hello"], in: ns, name: "tcp-\(name)"))
                servers.append(try BackgroundProcess(["python3", "-c", Self.gossipResponder], in: ns, name: "udp-\(name)"))
            }
            Thread.sleep(forTimeInterval: 0.3)
            let agent = try AgentProcess(in: lab.node)
            defer { agent.stop() }
            try agent.waitUntilReady()

            for i in 0..<15 {
                let port = 40000 + i
                // The same source port to a remote node, then to a local pod: directly and through the VIP.
                for target in ["10.0.2.30:8080", "10.0.1.21:8080"] {
                    _ = try lab.podA.exec(["socat", "-u", "OPEN:/dev/null", "TCP:\(target),sourceport=\(port),reuseaddr,connect-timeout=2"])
                }
                _ = try lab.podA.exec([
                    "socat", "-u", "OPEN:/dev/null", "TCP:10.96.0.10:80,sourceport=\(port + 100),reuseaddr,connect-timeout=2",
                ])
                _ = try lab.podA.exec([
                    "socat", "-u", "OPEN:/dev/null", "TCP:10.0.2.30:8080,sourceport=\(port + 100),reuseaddr,connect-timeout=2",
                ])
            }
            // Gossip: 7946 → 7946 to the remote node and to the local pod, each answered.
            for _ in 0..<3 {
                for target in ["10.0.2.30", "10.0.1.21"] {
                    let answer = try lab.podA.exec(["python3", "-c", Self.gossip(to: target)])
                    #expect(answer.contains("ack"), "\(target) answers the gossip")
                }
            }
            Thread.sleep(forTimeInterval: 2)
            #expect(try agent.findings(kind: "hairpin").isEmpty, "log:\n\(agent.log)")
            #expect(
                (try agent.metrics().value("pathwatch_conntrack_events_total", ["type": "new"]) ?? 0) >= 60, "conntrack saw the traffic")
            #expect(try agent.metrics().value("pathwatch_hairpin_flows_total", ["frontend": "10.0.2.30:8080"]) == nil)
        }
    }

    /// Answers every datagram on 7946 from 7946.
    static let gossipResponder = """
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 7946))
        while True:
            data, peer = s.recvfrom(2048)
            s.sendto(b"ack", peer)
        """

    /// One gossip exchange from port 7946; prints the answer.
    static func gossip(to target: String) -> String {
        """
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 7946))
        s.settimeout(2)
        s.sendto(b"ping", ("\(target)", 7946))
        print(s.recvfrom(2048)[0].decode())
        """
    }
}
