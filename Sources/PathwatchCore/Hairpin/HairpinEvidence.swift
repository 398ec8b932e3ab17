import Netlink

/// What a `hairpin` finding says about one frontend: counts and bounded lists, so a storm of
/// ports cannot grow it. Encoded as the finding's `evidence`.
public struct HairpinEvidence: FindingDetail, Equatable {
    public typealias Endpoint = HairpinCorrelator.Endpoint
    public private(set) var frontend: String
    public private(set) var protocolName = "tcp"
    public private(set) var sourceEndpoints: [String] = []
    public private(set) var localTargets: [String] = []
    public private(set) var samples: [String] = []
    public private(set) var hairpinnedFlows = 0
    public private(set) var unansweredFlows = 0
    public private(set) var answeredFlows = 0
    public private(set) var origin = "conntrack"
    /// The pods behind `sourceEndpoints` and `localTargets` (`namespace/name`), when a pod
    /// directory knows them (Kubernetes reporting); absent otherwise.
    public private(set) var clientPods: [String]?
    public private(set) var serverPods: [String]?
    /// The addresses behind the lists, for naming pods without parsing the text back.
    private var sourceAddresses: [IPAddress] = []
    private var targetAddresses: [IPAddress] = []
    /// Evidence lists hold at most this many entries.
    public static let listLimit = 5

    public init(frontend: Endpoint) { self.frontend = frontend.description }

    public mutating func add(_ match: HairpinCorrelator.Match) {
        hairpinnedFlows += 1
        protocolName =
            match.protocolNumber == .udp ? "udp" : match.protocolNumber == .tcp ? "tcp" : "\(match.protocolNumber.rawValue)"
        sourceEndpoints.appendOnce("\(match.source.address)", limit: Self.listLimit)
        localTargets.appendOnce(match.localTarget.description, limit: Self.listLimit)
        sourceAddresses.appendOnce(match.source.address, limit: Self.listLimit)
        targetAddresses.appendOnce(match.localTarget.address, limit: Self.listLimit)
        samples.appendKeepingLast("\(match.source) -> \(frontend) -> \(match.localTarget)", limit: Self.listLimit)
    }

    /// Where the evidence came from: `conntrack`, or the probe's packet and how it died.
    public mutating func note(origin: String) { self.origin = origin }

    public mutating func addOutcome(assured: Bool) {
        if assured { answeredFlows += 1 } else { unansweredFlows += 1 }
    }

    /// Names the pods behind the client and server addresses; lists stay absent when no address
    /// is a known pod, so `/findings` is unchanged without Kubernetes.
    public mutating func namePods(_ pods: any PodNameResolver) {
        let clients = sourceAddresses.compactMap { pods.pod(at: $0)?.description }
        let servers = targetAddresses.compactMap { pods.pod(at: $0)?.description }
        clientPods = clients.isEmpty ? nil : clients
        serverPods = servers.isEmpty ? nil : servers
    }

    public var summary: String {
        let pods = clientPods.map { " (pods \($0.joined(separator: ", ")) → \((serverPods ?? []).joined(separator: ", ")))" } ?? ""
        return
            "Connections from this node to frontend \(frontend) come back to this node (\(sourceEndpoints.joined(separator: ", ")) → \(localTargets.joined(separator: ", ")))\(pods): the load balancer keeps the client address and sends the node's own connections back to it; \(hairpinnedFlows) hairpinned, \(unansweredFlows) died unanswered"
    }

    private enum CodingKeys: String, CodingKey {
        case frontend, sourceEndpoints, localTargets, samples, hairpinnedFlows, unansweredFlows, answeredFlows, origin, clientPods
        case serverPods
        case protocolName = "protocol"
    }
}

/// The one finding that stands for every frontend beyond `hairpin.maxFindings`: a flood of
/// distinct frontends (anyone on the node can make one) costs one finding, not thousands.
public struct HairpinOverflowEvidence: FindingDetail, Equatable {
    /// Separate findings allowed before this one takes over.
    public var limit: Int
    /// Hairpinned flows through frontends that got no finding of their own.
    public var hairpinnedFlows = 0
    /// A few of those frontends.
    public var frontends: [String] = []

    public init(limit: Int) { self.limit = limit }

    public mutating func add(frontend: String) {
        hairpinnedFlows += 1
        frontends.appendOnce(frontend, limit: HairpinEvidence.listLimit)
    }

    public var summary: String {
        "More frontends hairpin than hairpin.maxFindings (\(limit)) allows as separate findings: \(hairpinnedFlows) hairpinned flows through further frontends (\(frontends.joined(separator: ", "))…), summarised here"
    }
}
