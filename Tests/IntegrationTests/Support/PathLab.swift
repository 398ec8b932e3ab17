import Foundation

/// "Ghost in the Edge" with several clients (../shared/DESIGN.md): an instance behind an edge
/// that 1:1 NATs a public IPv4 address (203.0.113.10, TEST-NET-3) to it and routes its public
/// IPv6 address, beside a private path from a jump host. The edge drops a share of chosen
/// clients' packets, both ways, with nft `numgen random` (this kernel has no netem).
///
///     ext: 4 public clients, each in its own /24 and /64 ─┐
///                                                         edge (NAT, loss) ── inst 10.0.1.10, 2001:db8:10::10
///     jump: 2 private clients (10.0.2.20, 10.0.3.20, fd00:2::20, fd00:3::20) ─┘
struct PathLab {
    static let publicClients = ["198.51.100.20", "198.51.101.20", "198.51.102.20", "198.51.103.20"]
    static let publicClients6 = ["2001:db8:1::20", "2001:db8:2::20", "2001:db8:3::20", "2001:db8:4::20"]
    static let privateClients = ["10.0.2.20", "10.0.3.20"]
    static let privateClients6 = ["fd00:2::20", "fd00:3::20"]
    static let publicAddress = "203.0.113.10"
    static let instance6 = "2001:db8:10::10"

    /// Short windows so each scenario takes seconds, not minutes.
    static let config = """
        conntrack:
          enabled: false
        paths:
          sampleIntervalSeconds: 1
          windowSeconds: 5
          sustainSeconds: 3
          clearSeconds: 4
          minBytes: 200000
        """

    let instance: Namespace
    let edge: Namespace
    let external: Namespace
    let jump: Namespace
    let agent: AgentProcess
    private var nextPort = 5201

    /// Builds the lab, starts the agent, runs `body`, tears it all down (also on failure).
    static func run(_ body: (inout PathLab) throws -> Void) throws {
        try withNamespaces(["inst", "edge", "ext", "jump"]) { nss in
            let (instance, edge, external, jump) = (nss[0], nss[1], nss[2], nss[3])
            try instance.connect("eth0", to: edge, "e-inst", localAddress: "10.0.1.10/24", remoteAddress: "10.0.1.1/24")
            try jump.connect("j0", to: edge, "e-jump", localAddress: "10.0.2.20/24", remoteAddress: "10.0.2.1/24")
            try external.connect("x0", to: edge, "e-ext", localAddress: "198.51.100.20/24", remoteAddress: "198.51.100.1/24")
            for (i, client) in publicClients.enumerated() {
                if i > 0 {
                    try address(
                        client + "/24", on: external, "x0", gateway: client.replacingOccurrences(of: ".20", with: ".1"), edge, "e-ext")
                }
                try address(
                    publicClients6[i] + "/64", on: external, "x0", gateway: publicClients6[i].replacingOccurrences(of: "::20", with: "::1"),
                    edge, "e-ext")
            }
            try address("10.0.3.20/24", on: jump, "j0", gateway: "10.0.3.1/24", edge, "e-jump")
            for client in privateClients6 {
                try address(client + "/64", on: jump, "j0", gateway: client.replacingOccurrences(of: "::20", with: "::1"), edge, "e-jump")
            }
            try address(instance6 + "/64", on: instance, "eth0", gateway: "2001:db8:10::1", edge, "e-inst")
            try instance.ip("route", "add", "default", "via", "10.0.1.1")
            try instance.ip("-6", "route", "add", "default", "via", "2001:db8:10::1")
            try jump.ip("route", "add", "default", "via", "10.0.2.1")
            try jump.ip("-6", "route", "add", "default", "via", "fd00:2::1")
            try external.ip("route", "add", "default", "via", "198.51.100.1")
            try external.ip("-6", "route", "add", "default", "via", "2001:db8:1::1")
            try edge.exec(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
            try edge.exec(["sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"])
            try edge.nft(
                """
                table ip nat4 {
                    chain pre { type nat hook prerouting priority dstnat; ip daddr 203.0.113.10 dnat to 10.0.1.10; }
                    chain post { type nat hook postrouting priority srcnat; ip saddr 10.0.1.10 oifname "e-ext" snat to 203.0.113.10; }
                }
                table inet edge {
                    chain loss { type filter hook forward priority 0; }
                }
                """)
            let agent = try AgentProcess(in: instance, config: config)
            defer { agent.stop() }
            try agent.waitUntilReady()
            var lab = PathLab(instance: instance, edge: edge, external: external, jump: jump, agent: agent)
            try body(&lab)
        }
    }

    /// `address` on `namespace`'s `device` and the gateway's on the edge end (no duplicate
    /// address detection, so IPv6 is usable at once).
    private static func address(
        _ address: String, on namespace: Namespace, _ device: String, gateway: String, _ edge: Namespace, _ edgeDevice: String
    ) throws {
        let flags = address.contains(":") ? ["nodad"] : []
        try namespace.exec(["ip", "addr", "add", address, "dev", device] + flags)
        let length = address.split(separator: "/").last.map(String.init) ?? "64"
        let gatewayAddress = gateway.contains("/") ? gateway : "\(gateway)/\(length)"
        try edge.exec(["ip", "addr", "add", gatewayAddress, "dev", edgeDevice] + flags)
    }

    /// The edge drops 15 % of the packets of `clients`, both ways; nobody else loses anything.
    func loss(on clients: [String]) throws {
        var rules = ["flush chain inet edge loss"]
        for client in clients {
            let family = client.contains(":") ? "ip6" : "ip"
            rules.append("add rule inet edge loss \(family) saddr \(client) numgen random mod 100 < 15 drop")
            rules.append("add rule inet edge loss \(family) daddr \(client) numgen random mod 100 < 15 drop")
        }
        try edge.nft(rules.joined(separator: "\n"))
    }

    /// One iperf3 flow per client, each to its own fresh server port on the instance. With
    /// `nodeSends` the instance sends (`-R`), else the clients upload to it. `heavy` clients
    /// run four unlimited streams; the others 2 Mbit/s.
    mutating func traffic(
        _ clients: [String], nodeSends: Bool, seconds: Int, heavy: Set<String> = []
    ) throws -> [BackgroundProcess] {
        var processes: [BackgroundProcess] = []
        for client in clients {
            let port = nextPort
            nextPort += 1
            processes.append(try BackgroundProcess(["iperf3", "-s", "-1", "-p", "\(port)"], in: instance, name: "iperf-s-\(port)"))
            // A client started before the server listens is refused and never retries.
            _ = try eventually(within: 5, every: 0.05) {
                !(try instance.exec(["ss", "-Hltn", "sport = :\(port)"])).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            }
            let target =
                client.contains(":") ? Self.instance6 : (Self.privateClients.contains(client) ? "10.0.1.10" : Self.publicAddress)
            let namespace = Self.privateClients.contains(client) || Self.privateClients6.contains(client) ? jump : external
            var command = ["iperf3", "-c", target, "-B", client, "-p", "\(port)", "-t", "\(seconds)"]
            command += heavy.contains(client) ? ["-P", "4", "-b", "0"] : ["-b", "2M"]
            if nodeSends { command.append("-R") }
            processes.append(try BackgroundProcess(command, in: namespace, name: "iperf-c-\(port)"))
        }
        return processes
    }

    /// Ends the flows of a phase (our own processes, by PID).
    static func stop(_ processes: [BackgroundProcess]) {
        for p in processes where p.process.isRunning { kill(p.process.processIdentifier, SIGKILL) }
        for p in processes { p.stop() }
    }

    func findings() throws -> [[String: Any]] {
        let body = try agent.get("/findings").body
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return object?["findings"] as? [[String: Any]] ?? []
    }

    func finding(_ kind: String) throws -> [String: Any]? { try findings().first { $0["kind"] as? String == kind } }

    /// Any node-level path finding (`public_path_degraded` or `path_degraded`).
    func pathFinding() throws -> [String: Any]? {
        try findings().first { ["public_path_degraded", "path_degraded"].contains($0["kind"] as? String ?? "") }
    }
}
