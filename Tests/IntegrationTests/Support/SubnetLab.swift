import Foundation

/// The missing-subnet-route incident in namespaces (DESIGN.md): two instances with two
/// interfaces each, and a router holding every subnet's `.1` that drops packets whose source is
/// not in the arrival link's subnet, like a cloud's source/destination check.
///
///     inst1: net0 10.4.1.10/24 (default via 10.4.1.1), net1 10.4.2.10/24   [fd00:4:2::10/64]
///     inst2: net0 10.5.1.10/24 (default via 10.5.1.1), net1 10.5.2.10/24   [fd00:5:2::10/64]
///     (optionally inst1: net2 10.4.3.10/24, ``addInst1ThirdInterface()``)
struct SubnetLab {
    let router: Namespace
    let inst1: Namespace
    let inst2: Namespace

    /// Builds the lab; `secondInterfaceOnInst1: false` leaves inst1's net1 for a hot-plug test.
    init(_ namespaces: [Namespace], secondInterfaceOnInst1: Bool = true, ipv6: Bool = false) throws {
        (router, inst1, inst2) = (namespaces[0], namespaces[1], namespaces[2])
        for ns in namespaces {
            // No duplicate address detection: link-local routes appear at once, not seconds later,
            // so "the routing is byte-identical" compares a settled table.
            try ns.exec(["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.all.accept_dad=0"])
        }
        try router.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        try router.exec(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
        try attach(inst1, "net0", "r1n0", "10.4.1", v6: nil)
        try attach(inst2, "net0", "r2n0", "10.5.1", v6: nil)
        try attach(inst2, "net1", "r2n1", "10.5.2", v6: ipv6 ? "fd00:5:2" : nil)
        if secondInterfaceOnInst1 { try hotPlugInst1SecondInterface(ipv6: ipv6) }
        try inst1.ip("route", "add", "default", "via", "10.4.1.1")
        try inst2.ip("route", "add", "default", "via", "10.5.1.1")
        // The source/destination check: each router port accepts only its own subnet's sources.
        try router.nft(
            """
            table inet srcdst {
                chain forward {
                    type filter hook forward priority 0; policy accept;
                    iifname "r1n0" ip saddr != 10.4.1.0/24 drop
                    iifname "r1n1" ip saddr != 10.4.2.0/24 drop
                    iifname "r2n0" ip saddr != 10.5.1.0/24 drop
                    iifname "r2n1" ip saddr != 10.5.2.0/24 drop
                    iifname "r1n0" ip6 saddr != fd00:4:1::/64 drop
                    iifname "r2n0" ip6 saddr != fd00:5:1::/64 drop
                    iifname "r1n1" ip6 saddr != fd00:4:2::/64 drop
                    iifname "r2n1" ip6 saddr != fd00:5:2::/64 drop
                }
            }
            """)
    }

    /// Adds inst1's second interface, as a cloud attaches a second network interface.
    func hotPlugInst1SecondInterface(ipv6: Bool = false) throws {
        try attach(inst1, "net1", "r1n1", "10.4.2", v6: ipv6 ? "fd00:4:2" : nil)
    }

    /// A third interface on inst1, `net2` 10.4.3.10/24 with its gateway 10.4.3.1 on the router,
    /// behind the same source check as the others.
    func addInst1ThirdInterface() throws {
        try attach(inst1, "net2", "r1n2", "10.4.3", v6: nil)
        try router.exec(["nft", "add", "rule", "inet", "srcdst", "forward", "iifname", "r1n2", "ip", "saddr", "!=", "10.4.3.0/24", "drop"])
    }

    private func attach(_ instance: Namespace, _ name: String, _ routerSide: String, _ subnet: String, v6: String?) throws {
        try instance.connect(name, to: router, routerSide, localAddress: "\(subnet).10/24", remoteAddress: "\(subnet).1/24")
        if let v6 {
            try instance.ip("-6", "addr", "add", "\(v6)::10/64", "dev", name, "nodad")
            try router.ip("-6", "addr", "add", "\(v6)::1/64", "dev", routerSide, "nodad")
        }
    }

    /// `ping -I SOURCE DESTINATION` from an instance: whether one echo comes back within 1 s.
    static func ping(from ns: Namespace, source: String, to destination: String) -> Bool {
        (try? ns.exec(["ping", "-c", "1", "-W", "1", "-I", source, destination])) != nil
    }

    static func routeTable(_ ns: Namespace) throws -> String {
        try ns.exec(["ip", "route", "show", "table", "all"]) + (try ns.exec(["ip", "rule", "show"]))
    }
}
