import Foundation

/// The pod hairpin of the "Five-Second Ghosts" incident in namespaces (DESIGN.md): two pods on
/// one node (10.0.1.20 and 10.0.1.21, /32 routes to their veths), and a load balancer whose
/// frontend 10.0.9.9:80 DNATs to a target while keeping the client address.
///
///     podA 10.0.1.20 ─ eni-a ┐
///                            node ── lb0 10.0.0.1 ─── 10.0.0.2 lb (frontend 10.0.9.9:80)
///     podB 10.0.1.21 ─ eni-b ┘                           └── 10.0.0.3 node2 (10.0.2.30)
struct HairpinLab {
    let node: Namespace
    let podA: Namespace
    let podB: Namespace
    let lb: Namespace
    let node2: Namespace

    /// Where the balancer sends the frontend's traffic, and whether it rewrites the source.
    enum Backend {
        case podB
        case otherNode
        case podBWithSourceNAT
    }

    init(_ namespaces: [Namespace], backend: Backend) throws {
        (node, podA, podB, lb, node2) = (namespaces[0], namespaces[1], namespaces[2], namespaces[3], namespaces[4])
        for ns in [node, lb, node2] {
            try ns.exec([
                "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                "net.ipv6.conf.all.forwarding=1",
            ])
        }
        for ns in namespaces { try ns.exec(["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]) }
        try attachPod(podA, "eni-a", "10.0.1.20")
        try attachPod(podB, "eni-b", "10.0.1.21")
        try node.connect("lb0", to: lb, "eth0", localAddress: "10.0.0.1/24", remoteAddress: "10.0.0.2/24")
        try lb.ip("addr", "add", "10.0.9.9/32", "dev", "lo")
        try node.ip("route", "add", "10.0.9.9/32", "via", "10.0.0.2")
        try lb.ip("route", "add", "10.0.1.0/24", "via", "10.0.0.1")
        // A second node behind the balancer, reachable from it.
        try lb.connect("n2", to: node2, "eth0", localAddress: "10.0.3.1/24", remoteAddress: "10.0.3.2/24")
        try node2.ip("addr", "add", "10.0.2.30/32", "dev", "lo")
        try node2.ip("route", "add", "default", "via", "10.0.3.1")
        try lb.ip("route", "add", "10.0.2.30/32", "via", "10.0.3.2")
        let target = backend == .otherNode ? "10.0.2.30" : "10.0.1.21"
        let snat =
            backend == .podBWithSourceNAT ? "chain post { type nat hook postrouting priority 100; ip daddr 10.0.1.21 masquerade; }" : ""
        try lb.nft(
            """
            table ip lb {
                chain pre { type nat hook prerouting priority -100; ip daddr 10.0.9.9 tcp dport 80 dnat to \(target):8080; }
                \(snat)
            }
            """)
        // The same over IPv6: pods fd00:1::20 and fd00:1::21, frontend [fd00:9::9]:80.
        try attachPod6(podA, "eni-a", "fd00:1::20")
        try attachPod6(podB, "eni-b", "fd00:1::21")
        try node.ip("-6", "addr", "add", "fd00:0:0:1::1/64", "dev", "lb0", "nodad")
        try lb.ip("-6", "addr", "add", "fd00:0:0:1::2/64", "dev", "eth0", "nodad")
        try lb.ip("-6", "addr", "add", "fd00:9::9/128", "dev", "lo")
        try node.ip("-6", "route", "add", "fd00:9::9/128", "via", "fd00:0:0:1::2")
        try lb.ip("-6", "route", "add", "fd00:1::/64", "via", "fd00:0:0:1::1")
        if backend == .podB {
            try lb.nft(
                """
                table ip6 lb6 {
                    chain pre { type nat hook prerouting priority -100; ip6 daddr fd00:9::9 tcp dport 80 dnat to [fd00:1::21]:8080; }
                }
                """)
        }
        // Conntrack is only active on the node once something uses it.
        try node.activateConntrack()
    }

    private func attachPod6(_ pod: Namespace, _ veth: String, _ address: String) throws {
        try node.ip("-6", "addr", "add", "fd00:ff::1/128", "dev", veth, "nodad")
        try node.ip("-6", "route", "add", "\(address)/128", "dev", veth)
        try pod.ip("-6", "addr", "add", "\(address)/128", "dev", "eth0", "nodad")
        try pod.ip("-6", "route", "add", "fd00:ff::1/128", "dev", "eth0")
        try pod.ip("-6", "route", "add", "default", "via", "fd00:ff::1", "dev", "eth0")
    }

    private func attachPod(_ pod: Namespace, _ veth: String, _ address: String) throws {
        try node.ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pod.name)
        try node.ip("addr", "add", "169.254.1.1/32", "dev", veth)
        try node.ip("link", "set", veth, "up")
        try node.ip("route", "add", "\(address)/32", "dev", veth, "scope", "link")
        try pod.ip("addr", "add", "\(address)/32", "dev", "eth0")
        try pod.ip("link", "set", "eth0", "up")
        try pod.ip("route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
        try pod.ip("route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
    }

    /// A TCP connection attempt from `pod` to `address:port`; true when it connected.
    static func connect(from pod: Namespace, to address: String, port: Int, timeout: Int = 2) -> Bool {
        let target = address.contains(":") ? "TCP6:[\(address)]:\(port)" : "TCP:\(address):\(port)"
        return (try? pod.exec(["socat", "-u", "OPEN:/dev/null", "\(target),connect-timeout=\(timeout)"])) != nil
    }
}
