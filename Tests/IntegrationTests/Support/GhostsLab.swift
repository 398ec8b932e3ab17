import Foundation

/// The node of the "Five-Second Ghosts" incident, in namespaces: two pods on one node, a
/// balancer with client-IP preservation, and the server pod reached either through the node's
/// primary interface or through a secondary one with per-pod policy routing (the VPC CNI's
/// `from POD lookup N`, `to POD lookup main`).
///
///     podA 10.0.1.20 fd00:1::20 ─ eni-a ┐        eth0 10.0.0.1 fd00:a::1 ── lb e0 (frontend 10.0.9.9, fd00:9::9)
///     podB 10.0.1.21 fd00:1::21 ─ eni-b ┘ node ─ eth1 10.0.5.1 fd00:b::1 ── lb e1
///
/// The balancer DNATs TCP 80 to podB:8080 and UDP 53 to podB:5353, keeping the client address,
/// and reaches podB through eth1 (`secondary`) or eth0 (`primary`).
struct GhostsLab {
    enum Arrival: String, Sendable { case primary, secondary }

    let node: Namespace
    let podA: Namespace
    let podB: Namespace
    let lb: Namespace

    static let labels = ["node", "podA", "podB", "lb"]

    /// `rpFilter` goes on the arrival interface (with `all` at 0: the kernel applies the larger).
    /// `rawRpfilter` adds firewalld's IPv6 rule in the node's raw table.
    init(_ namespaces: [Namespace], arrival: Arrival, rpFilter: Int, rawRpfilter: Bool = false) throws {
        (node, podA, podB, lb) = (namespaces[0], namespaces[1], namespaces[2], namespaces[3])
        for ns in [node, lb] {
            try ns.exec([
                "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                "net.ipv6.conf.all.forwarding=1", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0",
            ])
        }
        for ns in namespaces { try ns.exec(["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]) }
        try node.connect("eth0", to: lb, "e0", localAddress: "10.0.0.1/24", remoteAddress: "10.0.0.2/24")
        try node.connect("eth1", to: lb, "e1", localAddress: "10.0.5.1/24", remoteAddress: "10.0.5.2/24")
        for (local, remote, net) in [("eth0", "e0", "a"), ("eth1", "e1", "b")] {
            try node.ip("-6", "addr", "add", "fd00:\(net)::1/64", "dev", local, "nodad")
            try lb.ip("-6", "addr", "add", "fd00:\(net)::2/64", "dev", remote, "nodad")
        }
        try node.ip("route", "add", "default", "via", "10.0.0.2")
        try node.ip("-6", "route", "add", "default", "via", "fd00:a::2")
        try attach(podA, "eni-a", "10.0.1.20", "fd00:1::20")
        try attach(podB, "eni-b", "10.0.1.21", "fd00:1::21")
        if arrival == .secondary {
            // The server pod's traffic leaves by the secondary interface; traffic to it is routed
            // by the main table (the VPC CNI's rules for a pod on a secondary ENI).
            // (a rule per pod to the main table, a rule from the secondary's pods to its table).
            for pod in ["10.0.1.20", "10.0.1.21", "fd00:1::20", "fd00:1::21"] {
                try node.ip(pod.contains(":") ? "-6" : "-4", "rule", "add", "to", pod, "lookup", "main", "priority", "512")
            }
            for (v, pod, gateway) in [("-4", "10.0.1.21", "10.0.5.2"), ("-6", "fd00:1::21", "fd00:b::2")] {
                try node.ip(v, "rule", "add", "from", pod, "lookup", "100", "priority", "1536")
                try node.ip(v, "route", "add", "default", "via", gateway, "dev", "eth1", "table", "100")
            }
        }
        let interface = arrival == .primary ? "eth0" : "eth1"
        try node.exec(["sysctl", "-qw", "net.ipv4.conf.\(interface).rp_filter=\(rpFilter)"])
        if rawRpfilter {
            try node.nft("table ip6 fw {\n chain raw { type filter hook prerouting priority raw; fib saddr . iif oif missing drop; }\n}\n")
        }

        let (via4, via6) = arrival == .primary ? ("10.0.0.1", "fd00:a::1") : ("10.0.5.1", "fd00:b::1")
        try lb.ip("addr", "add", "10.0.9.9/32", "dev", "lo")
        try lb.ip("-6", "addr", "add", "fd00:9::9/128", "dev", "lo")
        try lb.ip("route", "add", "10.0.1.20/32", "via", "10.0.0.1")
        try lb.ip("route", "add", "10.0.1.21/32", "via", via4)
        try lb.ip("-6", "route", "add", "fd00:1::20/128", "via", "fd00:a::1")
        try lb.ip("-6", "route", "add", "fd00:1::21/128", "via", via6)
        try lb.nft(
            """
            table ip lb {
                chain pre { type nat hook prerouting priority -100; ip daddr 10.0.9.9 tcp dport 80 dnat to 10.0.1.21:8080; ip daddr 10.0.9.9 udp dport 53 dnat to 10.0.1.21:5353; }
            }
            table ip6 lb6 {
                chain pre { type nat hook prerouting priority -100; ip6 daddr fd00:9::9 tcp dport 80 dnat to [fd00:1::21]:8080; ip6 daddr fd00:9::9 udp dport 53 dnat to [fd00:1::21]:5353; }
            }
            """)
        try node.activateConntrack()
    }

    func attach(_ pod: Namespace, _ veth: String, _ address: String, _ address6: String) throws {
        try node.ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pod.name)
        try node.ip("addr", "add", "169.254.1.1/32", "dev", veth)
        try node.ip("-6", "addr", "add", "fd00:ff::1/128", "dev", veth, "nodad")
        try node.ip("link", "set", veth, "up")
        try node.ip("route", "add", "\(address)/32", "dev", veth, "scope", "link")
        try node.ip("-6", "route", "add", "\(address6)/128", "dev", veth)
        try pod.ip("addr", "add", "\(address)/32", "dev", "eth0")
        try pod.ip("-6", "addr", "add", "\(address6)/128", "dev", "eth0", "nodad")
        try pod.ip("link", "set", "eth0", "up")
        try pod.ip("route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
        try pod.ip("route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
        try pod.ip("-6", "route", "add", "fd00:ff::1/128", "dev", "eth0")
        try pod.ip("-6", "route", "add", "default", "via", "fd00:ff::1", "dev", "eth0")
    }
}
