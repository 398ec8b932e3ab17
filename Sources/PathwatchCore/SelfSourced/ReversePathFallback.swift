import Netlink

/// The counter fallback for pod hairpins under strict reverse-path filtering, when the probe is
/// off or contested: the kernel's `TcpExtIPReversePathFilter` (IPv4 packets `rp_filter` dropped in
/// this network namespace) rising while connections from node-local endpoints to outside go
/// unanswered. Neither alone means a hairpin (the counter also counts spoofed and asymmetrically
/// routed packets; a flow goes unanswered for many reasons), so a finding needs both, and says
/// what is known and what is not.
public enum ReversePathFallback {
    /// `IPReversePathFilter` from `/proc/net/netstat` text; nil when the kernel does not have it.
    public static func counter(netstat text: String) -> UInt64? {
        ProcNetTable.parse(text)["TcpExt"]?["IPReversePathFilter"].map { UInt64(clamping: $0) }
    }

    /// Unanswered flows from a node-local endpoint to an address that is not local, as
    /// `10.0.1.20:35220 -> 10.0.9.9:80 (tcp)`: TCP still at SYN_SENT, or UDP without a reply.
    /// The newest first (highest conntrack id), at most `limit`.
    public static func unansweredFlows(_ flows: [ConntrackFlow], isLocal: (IPAddress) -> Bool, limit: Int = 5) -> [String] {
        flows.filter { flow in
            let o = flow.original
            guard !flow.status.contains(.seenReply), isLocal(o.source), !isLocal(o.destination), !o.destination.isLoopback else {
                return false
            }
            switch o.protocolNumber {
            case .tcp: return flow.tcpState == nil || flow.tcpState == .synSent
            case .udp: return true
            default: return false
            }
        }
        .sorted { ($0.id ?? 0) > ($1.id ?? 0) }
        .prefix(limit)
        .map { flow in
            let o = flow.original
            let name = o.protocolNumber == .tcp ? "tcp" : "udp"
            return
                "\(Endpoint(address: o.source, port: o.sourcePort ?? 0)) -> \(Endpoint(address: o.destination, port: o.destinationPort ?? 0)) (\(name))"
        }
    }

    typealias Endpoint = HairpinCorrelator.Endpoint
}

/// A `hairpin` finding from the counters: what the kernel counted and which connections are
/// stuck, without a frontend.
public struct ReversePathCounterEvidence: FindingDetail, Equatable {
    public var frontend = "unknown"
    /// Rises of `TcpExtIPReversePathFilter` reported in this finding.
    public var reversePathDrops: UInt64 = 0
    /// The latest unanswered connections from node-local endpoints (up to five).
    public var unansweredFlows: [String] = []
    public var detection =
        "counter: TcpExtIPReversePathFilter (/proc/net/netstat of the agent's network namespace) rose while connections from node-local endpoints went unanswered; the probe (hairpin.probe) is off or could not be installed"
    public var known = [
        "IPv4 packets arriving on this node were dropped by the reverse-path filter (rp_filter)",
        "these connections from this node's endpoints to outside were not answered",
    ]
    public var unknown = [
        "the frontend (a balancer that keeps the client address and sends the connection back to this node is the likely cause; which one, only the probe or the balancer's logs can tell)",
        "whether the dropped packets are these connections' (the counter also counts spoofed and asymmetrically routed packets)",
        "IPv6, which has no rp_filter counter (a raw-table rpfilter rule counts its drops itself)",
    ]

    public init() {}

    public mutating func add(drops: UInt64, flows: [String]) {
        reversePathDrops += drops
        for flow in flows.reversed() where !unansweredFlows.contains(flow) { unansweredFlows.insert(flow, at: 0) }
        unansweredFlows = Array(unansweredFlows.prefix(5))
    }

    public var summary: String {
        "Connections from this node's endpoints go unanswered while the reverse-path filter drops packets (\(reversePathDrops) so far): likely a pod hairpin through a balancer that keeps the client address, frontend unknown (\(unansweredFlows.first ?? "no flow"))"
    }
}
