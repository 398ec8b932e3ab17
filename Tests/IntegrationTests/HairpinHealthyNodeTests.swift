import Foundation
import Testing

/// Issue 13: healthy traffic on a busy node is never a hairpin. The lab's pods make connections
/// that share a source port with an earlier one to a remote node (Linux does this for different
/// destinations), reach a local pod through a ClusterIP-style VIP DNAT'd on the node, and gossip
/// over UDP from a fixed port (7946 → 7946) to a remote node and a local pod. Every exchange is
/// answered; the agent must raise nothing. The old detector paged for each of these.
///
/// Each test runs its traffic mix once by default (CI's budget). The issue asks for silence
/// "over minutes": `PATHWATCH_HAIRPIN_HEALTHY_SECONDS=180` repeats each mix for three minutes,
/// stopping at the first finding (the run is recorded in docs/benchmarks.md).
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

            let deadline = Date().addingTimeInterval(Self.watchSeconds)
            var round = 0
            repeat {
                // A fresh block of ports each round: a port's TIME_WAIT (60 s) is over before it returns.
                let base = 40000 + (round % 40) * 250
                round += 1
                for i in 0..<15 {
                    let port = base + i
                    // The same source port to a remote node, then to a local pod: directly and through the VIP.
                    for target in ["10.0.2.30:8080", "10.0.1.21:8080"] {
                        _ = try lab.podA.exec([
                            "socat", "-u", "OPEN:/dev/null", "TCP:\(target),sourceport=\(port),reuseaddr,connect-timeout=2",
                        ])
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
            } while try Date() < deadline && agent.findings(kind: "hairpin").isEmpty
            Thread.sleep(forTimeInterval: 2)
            #expect(try agent.findings(kind: "hairpin").isEmpty, "log:\n\(agent.log)")
            #expect(
                (try agent.metrics().value("pathwatch_conntrack_events_total", ["type": "new"]) ?? 0) >= 60, "conntrack saw the traffic")
            #expect(try agent.metrics().value("pathwatch_hairpin_flows_total", ["frontend": "10.0.2.30:8080"]) == nil)
        }
    }

    /// Issue 13: one busy healthy node with the rules clusters install, in one run: kube-proxy
    /// ClusterIPs in iptables-legacy and iptables-nft DNAT'd to a local and to a remote pod, pod
    /// egress masqueraded to the node's address, a Docker-style published port with hairpin NAT
    /// (pods and the node itself reaching it through the node's address), and a NodeLocal-DNS
    /// style listener on 169.254.20.10 with its NOTRACK rules. Every exchange is answered; the
    /// agent, probe installed, must raise nothing.
    @Test(
        .enabled(
            if: Shell.exists("iptables-legacy") && Shell.exists("iptables-nft"), "needs iptables-legacy and iptables-nft (scripts/setup)"))
    func kubeProxyDockerAndNodeLocalDNSRaiseNothing() throws {
        try withNamespaces(HairpinTests.labels) { nss in
            let lab = try HairpinLab(nss, backend: .otherNode)
            let node = lab.node
            try node.ip("route", "add", "10.0.2.30/32", "via", "10.0.0.2")
            try node.ip("addr", "add", "169.254.20.10/32", "dev", "lo")
            func legacy(_ rule: String) throws { try node.exec(["iptables-legacy"] + rule.split(separator: " ").map(String.init)) }
            func nft(_ rule: String) throws { try node.exec(["iptables-nft"] + rule.split(separator: " ").map(String.init)) }
            // kube-proxy: ClusterIPs to a local and a remote endpoint, in both modes, and masquerade.
            try legacy("-t nat -A PREROUTING -d 10.96.0.10 -p tcp --dport 80 -j DNAT --to-destination 10.0.1.21:8080")
            try legacy("-t nat -A PREROUTING -d 10.96.0.12 -p tcp --dport 80 -j DNAT --to-destination 10.0.2.30:8080")
            try nft("-t nat -A PREROUTING -d 10.96.0.11 -p tcp --dport 80 -j DNAT --to-destination 10.0.2.30:8080")
            try nft("-t nat -A PREROUTING -d 10.96.0.13 -p tcp --dport 80 -j DNAT --to-destination 10.0.1.21:8080")
            try legacy("-t nat -A POSTROUTING -s 10.0.1.0/24 -o lb0 -j MASQUERADE")
            // Docker: a published port on the node's addresses, with hairpin NAT.
            try nft("-t nat -N DOCKER")
            try nft("-t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER")
            try nft("-t nat -A OUTPUT -m addrtype --dst-type LOCAL -j DOCKER")
            try nft("-t nat -A DOCKER -p tcp --dport 8081 -j DNAT --to-destination 10.0.1.21:8080")
            try nft("-t nat -A POSTROUTING -s 10.0.1.21 -d 10.0.1.21 -p tcp --dport 8080 -j MASQUERADE")
            // NodeLocal DNS: a link-local listener, its traffic untracked.
            for chain in ["PREROUTING", "OUTPUT"] {
                try legacy("-t raw -A \(chain) -d 169.254.20.10 -p udp --dport 53 -j NOTRACK")
                try legacy("-t raw -A \(chain) -s 169.254.20.10 -p udp --sport 53 -j NOTRACK")
            }
            var servers: [BackgroundProcess] = []
            defer { for server in servers { server.stop() } }
            for (ns, name) in [(lab.podB, "podB"), (lab.node2, "node2")] {
                servers.append(
                    try BackgroundProcess(["socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo hello"], in: ns, name: "tcp-\(name)"))
            }
            servers.append(try BackgroundProcess(["python3", "-c", Self.dnsResponder], in: node, name: "nodelocaldns"))
            Thread.sleep(forTimeInterval: 0.3)
            let agent = try AgentProcess(in: node)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try eventually(within: 3) { try agent.get("/readyz").body.contains("self-sourced SYN detection: probe") })

            let targets = [
                "10.96.0.10:80", "10.96.0.11:80", "10.96.0.12:80", "10.96.0.13:80", "10.0.2.30:8080", "10.0.1.21:8080",
                "10.0.0.1:8081", "169.254.1.1:8081",
            ]
            let deadline = Date().addingTimeInterval(Self.watchSeconds)
            repeat {
                for (ns, name) in [(lab.podA, "podA"), (lab.podB, "podB")] {
                    let result = try ns.exec(["python3", "-c", Self.traffic(tcp: targets, rounds: 15, dns: "169.254.20.10", queries: 30)])
                    #expect(result.contains("failed 0"), "\(name): \(result)")
                }
                let fromNode = try node.exec([
                    "python3", "-c",
                    Self.traffic(tcp: ["10.0.0.1:8081", "169.254.1.1:8081"], rounds: 10, dns: "169.254.20.10", queries: 10),
                ])
                #expect(fromNode.contains("failed 0"), "the node: \(fromNode)")
            } while try Date() < deadline && agent.findings(kind: "hairpin").isEmpty
                && agent.findings(kind: "self_sourced_syn_drop").isEmpty
            Thread.sleep(forTimeInterval: 2)
            #expect(try agent.findings(kind: "hairpin").isEmpty, "log:\n\(agent.log)")
            #expect(try agent.findings(kind: "self_sourced_syn_drop").isEmpty, "log:\n\(agent.log)")
            let metrics = try agent.metrics()
            #expect((metrics.value("pathwatch_conntrack_events_total", ["type": "new"]) ?? 0) >= 200, "conntrack saw the traffic")
            #expect(metrics.value("pathwatch_syn_probe_packets_total") == 0, "no packet from a local source arrived from outside")
        }
    }

    /// How long each test repeats its traffic mix: 0 (one pass) unless
    /// `PATHWATCH_HAIRPIN_HEALTHY_SECONDS` says otherwise.
    static var watchSeconds: Double {
        ProcessInfo.processInfo.environment["PATHWATCH_HAIRPIN_HEALTHY_SECONDS"].flatMap(Double.init) ?? 0
    }

    /// Answers DNS-sized datagrams on 169.254.20.10:53.
    static let dnsResponder = """
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("169.254.20.10", 53))
        while True:
            data, peer = s.recvfrom(2048)
            s.sendto(b"answer", peer)
        """

    /// Short TCP connections to every target, `rounds` times, and `queries` DNS exchanges;
    /// prints how many failed.
    static func traffic(tcp targets: [String], rounds: Int, dns: String, queries: Int) -> String {
        """
        import socket
        failed = 0
        targets = [\(targets.map { "(\"\($0.split(separator: ":")[0])\", \($0.split(separator: ":")[1]))" }.joined(separator: ", "))]
        for _ in range(\(rounds)):
            for host, port in targets:
                try:
                    c = socket.create_connection((host, port), timeout=2)
                    c.recv(16)
                    c.close()
                except OSError as e:
                    failed += 1
                    print("tcp", host, port, e)
        for _ in range(\(queries)):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(2)
            try:
                u.sendto(b"query", ("\(dns)", 53))
                u.recvfrom(64)
            except OSError as e:
                failed += 1
                print("dns", e)
            u.close()
        print("failed", failed)
        """
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
