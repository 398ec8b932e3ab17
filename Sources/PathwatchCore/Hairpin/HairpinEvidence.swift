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
    /// Evidence lists hold at most this many entries.
    public static let listLimit = 5

    public init(frontend: Endpoint) { self.frontend = frontend.description }

    public mutating func add(_ match: HairpinCorrelator.Match) {
        hairpinnedFlows += 1
        protocolName =
            match.protocolNumber == .udp ? "udp" : match.protocolNumber == .tcp ? "tcp" : "\(match.protocolNumber.rawValue)"
        sourceEndpoints.appendOnce("\(match.source.address)", limit: Self.listLimit)
        localTargets.appendOnce(match.localTarget.description, limit: Self.listLimit)
        samples.appendKeepingLast("\(match.source) -> \(frontend) -> \(match.localTarget)", limit: Self.listLimit)
    }

    /// Where the evidence came from: `conntrack`, or the probe's packet and how it died.
    public mutating func note(origin: String) { self.origin = origin }

    public mutating func addOutcome(assured: Bool) {
        if assured { answeredFlows += 1 } else { unansweredFlows += 1 }
    }

    public var summary: String {
        "Connections from this node to frontend \(frontend) come back to this node (\(sourceEndpoints.joined(separator: ", ")) → \(localTargets.joined(separator: ", "))): the load balancer keeps the client address and sends the node's own connections back to it; \(hairpinnedFlows) hairpinned, \(unansweredFlows) died unanswered"
    }

    private enum CodingKeys: String, CodingKey {
        case frontend, sourceEndpoints, localTargets, samples, hairpinnedFlows, unansweredFlows, answeredFlows, origin
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
