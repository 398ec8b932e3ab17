import Netlink

/// What a `self_sourced_syn_drop` finding says about one frontend (or about SYNs whose
/// frontend could not be named): bounded lists, so a storm of ports cannot grow it.
public struct SelfSourcedSynEvidence: FindingDetail, Hashable {
    /// The frontend, or `null` when conntrack could not name it.
    public private(set) var frontend: String?
    public private(set) var loggedSyns = 0
    public private(set) var sources: [String] = []
    public private(set) var targets: [String] = []
    public private(set) var interfaces: [String] = []
    public private(set) var senderMACs: [String] = []
    public private(set) var samples: [String] = []
    /// How the SYNs were seen (the probe's table and log group).
    public private(set) var detection: String
    /// `tcp`, or `udp` for datagrams (the instance hairpin over UDP).
    public private(set) var protocolName = "tcp"
    /// The pods behind `sourceEndpoints` and `localTargets` (`namespace/name`), as in the hairpin
    /// evidence, when a pod directory knows them (Kubernetes reporting); absent otherwise.
    public private(set) var clientPods: [String]?
    public private(set) var serverPods: [String]?
    /// The addresses behind the lists, for naming pods without parsing the text back.
    private var sourceAddresses: [IPAddress] = []
    private var targetAddresses: [IPAddress] = []
    public static let listLimit = 5

    public init(frontend: SelfSourcedSyn.Endpoint?, detection: String) {
        self.frontend = frontend?.description
        self.detection = detection
    }

    public mutating func add(_ syn: SelfSourcedSyn) {
        loggedSyns += 1
        protocolName = syn.protocolNumber == .udp ? "udp" : "tcp"
        sources.appendOnce(syn.source.description, limit: Self.listLimit)
        targets.appendOnce(syn.target.description, limit: Self.listLimit)
        sourceAddresses.appendOnce(syn.client ?? syn.source.address, limit: Self.listLimit)
        targetAddresses.appendOnce(syn.target.address, limit: Self.listLimit)
        if let interface = syn.interface { interfaces.appendOnce(interface, limit: Self.listLimit) }
        if let mac = syn.senderMAC { senderMACs.appendOnce(mac, limit: Self.listLimit) }
        let via = [syn.interface.map { " on \($0)" }, syn.senderMAC.map { " from \($0)" }].compactMap { $0 }.joined()
        samples.appendKeepingLast("\(syn.source) -> \(syn.frontend?.description ?? "?") -> \(syn.target)\(via)", limit: Self.listLimit)
    }

    /// Names the pods behind the client and server addresses; lists stay absent when no address
    /// is a known pod, so `/findings` is unchanged without Kubernetes.
    public mutating func namePods(_ pods: any PodNameResolver) {
        let clients = pods.podNames(sourceAddresses, limit: Self.listLimit)
        let servers = pods.podNames(targetAddresses, limit: Self.listLimit)
        clientPods = clients.isEmpty ? nil : clients
        serverPods = servers.isEmpty ? nil : servers
    }

    public var summary: String {
        let pods = clientPods.map { " (pods \($0.joined(separator: ", ")) → \((serverPods ?? []).joined(separator: ", ")))" } ?? ""
        let through =
            frontend.map { "through frontend \($0)" }
            ?? "through a frontend conntrack could not name (no outbound flow with the same source port)"
        let what = protocolName == "udp" ? "UDP datagrams" : "SYNs"
        return
            "\(what) this node sent \(through) come back with its own source address (\(sources.joined(separator: ", ")) → \(targets.joined(separator: ", ")))\(pods) and fail (IPv4 drops them as martian sources; over IPv6 the answer goes to the wrong socket): the load balancer keeps the client address and sends the node's own connections back to it (instance hairpin); \(loggedSyns) logged"
    }

    private enum CodingKeys: String, CodingKey {
        case frontend, sourceEndpoints, localTargets, interfaces, senderMACs, samples, loggedSyns, detection, clientPods, serverPods
        case protocolName = "protocol"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        // An unnamed frontend is an explicit null: readers test for it.
        try container.encode(frontend, forKey: .frontend)
        try container.encode(protocolName, forKey: .protocolName)
        try container.encode(sources, forKey: .sourceEndpoints)
        try container.encode(targets, forKey: .localTargets)
        try container.encode(interfaces, forKey: .interfaces)
        try container.encode(senderMACs, forKey: .senderMACs)
        try container.encode(samples, forKey: .samples)
        try container.encode(loggedSyns, forKey: .loggedSyns)
        try container.encode(detection, forKey: .detection)
        try container.encodeIfPresent(clientPods, forKey: .clientPods)
        try container.encodeIfPresent(serverPods, forKey: .serverPods)
    }
}

/// Evidence of the counter fallback: how much `in_martian_src` rose, and what it cannot say.
public struct MartianCounterEvidence: FindingDetail, Equatable {
    public var inMartianSrcIncrease: UInt64
    public var intervalSeconds = 1
    public var detection = "counter: /proc/net/stat/rt_cache in_martian_src, kernel-wide"
    public var limits =
        "The counter cannot name the frontend or the addresses and counts every martian source; the agent's probe (hairpin.probe) names them, or enable log_martians (sysctl net.ipv4.conf.all.log_martians=1) to see them in the kernel log."

    public init(increase: UInt64) { inMartianSrcIncrease = increase }

    public var summary: String {
        "The kernel is dropping packets whose source address is impossible on their interface (in_martian_src rose by \(inMartianSrcIncrease) in the last second); on a node behind a load balancer that keeps the client address, these are the node's own SYNs sent back to it (instance hairpin)"
    }
}

/// The frontends' evidence beyond `hairpin.maxFindings`, as one finding.
public struct SelfSourcedSynOverflowEvidence: FindingDetail, Equatable {
    public var limit: Int
    public var loggedSyns = 0
    public var frontends: [String] = []

    public init(limit: Int) { self.limit = limit }

    public mutating func add(frontend: String) {
        loggedSyns += 1
        frontends.appendOnce(frontend, limit: SelfSourcedSynEvidence.listLimit)
    }

    public var summary: String {
        "Self-sourced SYNs through more frontends than hairpin.maxFindings (\(limit)) allows as separate findings: \(loggedSyns) logged through further frontends (\(frontends.joined(separator: ", "))…), summarised here"
    }
}
