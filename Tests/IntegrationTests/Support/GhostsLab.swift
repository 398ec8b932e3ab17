import Foundation

/// The node of the "Five-Second Ghosts" incident, in namespaces: two pods on one node, a
/// balancer with client-IP preservation, and the server pod reached either through the node's
/// primary interface or through a secondary one with per-pod policy routing (the VPC CNI's
/// `from POD lookup N`, `to POD lookup main`).
///
///     podA 10.0.1.20 fd00:1::20 ─ eni-a ┐        eth0 10.0.0.1 fd00:a::1 ── lb e0 (frontends 10.0.9.0/24, fd00:9::/64)
///     podB 10.0.1.21 fd00:1::21 ─ eni-b ┘ node ─ eth1 10.0.5.1 fd00:b::1 ── lb e1
///
/// The balancer DNATs TCP 80 to podB:8080 and UDP 53 to podB:5353 for every frontend in its
/// ranges (one per case when a lab serves several), keeping the client address, and reaches
/// podB through eth1 (`secondary`) or eth0 (`primary`). What varies between cases is a
/// ``Setting``, applied to a running lab by ``apply(_:)``.
struct GhostsLab {
    enum Arrival: String, Sendable { case primary, secondary }

    /// The node's shape for one case.
    struct Setting: Sendable, Equatable {
        var arrival: Arrival
        /// On the arrival interface (with `all` at 0: the kernel applies the larger).
        var rpFilter = 0
        /// firewalld's IPv6 rule in the node's raw table.
        var rawRpfilter = false
        /// `iptables -t raw -A PREROUTING -m rpfilter --invert -j DROP` (IPv4, firewalld style).
        var iptablesRpfilter = false
        /// Connections that arrive on eth1 are marked, and podB's answers with that mark leave by
        /// eth1 (fwmark rule to table 100): the answer goes back through the balancer and the
        /// hairpin works. The reverse-path lookup, which carries no mark, still fails.
        var answersThroughBalancer = false
    }

    let node: Namespace
    let podA: Namespace
    let podB: Namespace
    let lb: Namespace

    static let labels = ["node", "podA", "podB", "lb"]

    /// `rpFilter` goes on the arrival interface (with `all` at 0: the kernel applies the larger).
    /// `rawRpfilter` adds firewalld's IPv6 rule in the node's raw table.
    init(_ namespaces: [Namespace], arrival: Arrival, rpFilter: Int, rawRpfilter: Bool = false) throws {
        try self.init(namespaces, Setting(arrival: arrival, rpFilter: rpFilter, rawRpfilter: rawRpfilter))
    }

    init(_ namespaces: [Namespace], _ setting: Setting) throws {
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
        // Table 100 is the secondary interface's (used only by the rules a setting adds).
        try node.ip("-4", "route", "add", "default", "via", "10.0.5.2", "dev", "eth1", "table", "100")
        try node.ip("-6", "route", "add", "default", "via", "fd00:b::2", "dev", "eth1", "table", "100")
        try lb.ip("addr", "add", "10.0.9.9/32", "dev", "lo")
        try lb.ip("-6", "addr", "add", "fd00:9::9/128", "dev", "lo")
        try lb.ip("route", "add", "10.0.1.20/32", "via", "10.0.0.1")
        try lb.ip("-6", "route", "add", "fd00:1::20/128", "via", "fd00:a::1")
        try lb.nft(
            """
            table ip lb {
                chain pre { type nat hook prerouting priority -100; ip daddr 10.0.9.0/24 tcp dport 80 dnat to 10.0.1.21:8080; ip daddr 10.0.9.0/24 udp dport 53 dnat to 10.0.1.21:5353; }
            }
            table ip6 lb6 {
                chain pre { type nat hook prerouting priority -100; ip6 daddr fd00:9::/64 tcp dport 80 dnat to [fd00:1::21]:8080; ip6 daddr fd00:9::/64 udp dport 53 dnat to [fd00:1::21]:5353; }
            }
            """)
        try node.activateConntrack()
        try apply(setting)
    }

    /// Puts the node and the balancer in `setting`'s shape, undoing whatever another setting
    /// added (the undo steps tolerate what is not there). One shell per namespace: a case's
    /// set-up costs two process starts, not thirty.
    func apply(_ setting: Setting) throws {
        var script = [
            "set -e",
            // Undo: policy rules, raw-table drops, the connection marks.
            "for v in -4 -6; do for p in 256 512 1536; do while ip $v rule del priority $p 2>/dev/null; do :; done; done; done",
            "iptables -t raw -F PREROUTING 2>/dev/null || true",
            "nft delete table ip6 fw 2>/dev/null || true",
            "nft delete table inet marks 2>/dev/null || true",
        ]
        if setting.arrival == .secondary {
            // The server pod's traffic leaves by the secondary interface; traffic to the pods is
            // routed by the main table (the VPC CNI's rules for a pod on a secondary ENI).
            for pod in ["10.0.1.20", "10.0.1.21", "fd00:1::20", "fd00:1::21"] {
                script.append("ip \(pod.contains(":") ? "-6" : "-4") rule add to \(pod) lookup main priority 512")
            }
            script += ["ip -4 rule add from 10.0.1.21 lookup 100 priority 1536", "ip -6 rule add from fd00:1::21 lookup 100 priority 1536"]
        }
        if setting.answersThroughBalancer {
            script += [
                "nft 'table inet marks { chain pre { type filter hook prerouting priority mangle; iifname \"eth1\" ct state new ct mark set 0x80; iifname \"eni-b\" meta mark set ct mark; }; }'",
                "ip -4 rule add fwmark 0x80 lookup 100 priority 256", "ip -6 rule add fwmark 0x80 lookup 100 priority 256",
            ]
        }
        let (interface, other) = setting.arrival == .primary ? ("eth0", "eth1") : ("eth1", "eth0")
        script.append("sysctl -qw net.ipv4.conf.\(interface).rp_filter=\(setting.rpFilter) net.ipv4.conf.\(other).rp_filter=0")
        if setting.rawRpfilter {
            script.append(
                "nft 'table ip6 fw { chain raw { type filter hook prerouting priority raw; fib saddr . iif oif missing drop; }; }'")
        }
        if setting.iptablesRpfilter { script.append("iptables -t raw -A PREROUTING -m rpfilter --invert -j DROP") }
        try node.exec(["sh", "-c", script.joined(separator: "\n")])
        let (via4, via6) = setting.arrival == .primary ? ("10.0.0.1", "fd00:a::1") : ("10.0.5.1", "fd00:b::1")
        try lb.exec(["sh", "-c", "ip route replace 10.0.1.21/32 via \(via4) && ip -6 route replace fd00:1::21/128 via \(via6)"])
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
