import Netlink

/// A `missing_subnet_route` finding from a declared (or discovered) expectation, as the engine
/// hands it to the findings registry.
public struct MissingSubnetRouteReport: Sendable, Equatable {
    public var id: SubnetRouteExpectation.ID
    public var summary: String
    public var evidence: MissingSubnetRouteEvidence
    public var remediation: MissingSubnetRouteRemediation

    public init(
        _ e: SubnetRouteExpectation, observed: String, state: RepairState, mode: AutofixMode, removals: Int, likelyCause: String?,
        commands: [String], conflict: Conflict?, names: [InterfaceIndex: String] = [:], selectedBy: Rule? = nil
    ) {
        id = e.id
        summary =
            "Traffic from \(e.interface) (\(e.source)) to \(e.destination) \(observed) instead of leaving by \(e.interface) via its subnet gateway \(e.gateway) (\(state.label))"
        evidence = MissingSubnetRouteEvidence(
            interface: e.interface, source: "\(e.source)", subnet: "\(e.subnet)", destination: "\(e.destination)",
            gateway: "\(e.gateway)", lookup: "ip route get \(e.probe) from \(e.source): \(observed)", autofix: mode.rawValue,
            repairState: state.label, removedByOthers: removals, likelyCause: likelyCause, rule: selectedBy.map(Self.describe))
        remediation = MissingSubnetRouteRemediation(
            commands: commands, conflict: conflict?.description, blockedBy: conflict.map { BlockingRoute($0.route, names: names) })
    }
}

extension MissingSubnetRouteReport {
    /// A rule as `ip rule show` prints it (`100:\tfrom all to 10.6.0.0/24 lookup 50 proto static`,
    /// with a space for the tab).
    static func describe(_ rule: Rule) -> String {
        var text = "\(rule.priority): from \(rule.source.map { "\($0)" } ?? "all")"
        if let destination = rule.destination { text += " to \(destination)" }
        return text + " lookup \(rule.table) proto \(rule.protocolID)"
    }
}

/// `evidence` of a `missing_subnet_route` finding: what the kernel's own lookup answered and
/// where the repair stands.
public struct MissingSubnetRouteEvidence: FindingDetail, Equatable {
    public var interface: String
    public var source: String
    public var subnet: String
    public var destination: String
    public var gateway: String
    /// `ip route get PROBE from SOURCE: what it answered`.
    public var lookup: String
    public var autofix: String
    /// ``RepairState/label``.
    public var repairState: String
    public var removedByOthers: Int
    /// Present while flapping: who likely removes the repair.
    public var likelyCause: String?
    /// Present when a policy rule sent the traffic to another table: that rule.
    public var rule: String?
}

/// `remediation` of a `missing_subnet_route` finding: the exact commands and what blocks them.
public struct MissingSubnetRouteRemediation: FindingDetail, Equatable {
    public var commands: [String]
    public var text =
        "Route the peer subnet via this interface's own subnet gateway, on both sides (mirrored). With auto-fix on, pathwatch installs it tagged with its routing protocol (196); make it permanent in the node's network configuration."
    /// The foreign route in the way, when there is one.
    public var conflict: String?
    /// The same route as fields, for tools: pathwatch installs nothing ahead of it.
    public var blockedBy: BlockingRoute?

    public init(commands: [String], conflict: String?, blockedBy: BlockingRoute? = nil) {
        self.commands = commands
        self.conflict = conflict
        self.blockedBy = blockedBy
    }
}

/// A route pathwatch does not own that blocks its repair, as `remediation.blockedBy`.
public struct BlockingRoute: FindingDetail, Equatable {
    /// As `ip route show` would print it (`10.5.2.0/24 via 10.4.1.1 dev net0 proto static metric 100`).
    public var route: String
    public var type: String
    public var table: String
    public var `protocol`: String
    public var metric: UInt32
    public var gateway: String?
    public var interface: String?

    public init(_ r: Route, names: [InterfaceIndex: String]) {
        type = Self.typeName(r.type)
        table = "\(r.table)"
        `protocol` = "\(r.protocolID)"
        metric = r.priority ?? 0
        gateway = r.gateway.map { "\($0)" }
        interface = r.outputInterface.map { names[$0] ?? "if\($0.rawValue)" }
        var text = (r.type == .unicast ? "" : type + " ") + "\(r.destination)"
        if let gateway { text += " via \(gateway)" }
        if let interface { text += " dev \(interface)" }
        if r.table != .main { text += " table \(table)" }
        text += " proto \(`protocol`)"
        if metric != 0 { text += " metric \(metric)" }
        route = text
    }

    static func typeName(_ type: RouteType) -> String {
        switch type {
        case .unicast: "unicast"
        case .blackhole: "blackhole"
        case .unreachable: "unreachable"
        case .prohibit: "prohibit"
        case .local: "local"
        default: "type \(type.rawValue)"
        }
    }
}

/// A `missing_subnet_route` finding seen in live traffic, without configuration.
public struct LiveTrafficRouteReport: Sendable, Equatable {
    /// Finding keys of live-traffic findings, typed: the interface and the unreplied destination.
    public struct ID: Hashable, Sendable, CustomStringConvertible {
        public var interface: String
        public var destination: IPAddress
        /// The finding key `/findings` serves (`live net1 10.5.2.10`).
        public var description: String { "live \(interface) \(destination)" }
    }

    public var id: ID
    public var summary: String
    public var evidence: LiveTrafficRouteEvidence
    public var remediation: LiveTrafficRouteRemediation

    /// `leaves`: the interface the lookup named; `via`: its gateway; `gateway`: the source
    /// subnet's first host, when known.
    public init(_ candidate: UnrepliedFlowScan.Candidate, leaves: String, via: IPAddress?, gateway: IPAddress?) {
        self.init(
            candidate, gateway: gateway,
            summary:
                "\(candidate.flows) unreplied flow(s) from \(candidate.interface) (\(candidate.source)) to \(candidate.destination) leave by \(leaves)\(via.map { " via \($0)" } ?? ""), not by \(candidate.interface): the reply path is likely dropped (seen in live traffic)",
            lookup: "leaves by \(leaves)")
    }

    /// The on-link half-fix seen in live traffic: the right interface, no gateway, a destination
    /// outside the source's subnet.
    public init(onLink candidate: UnrepliedFlowScan.Candidate, subnet: IPPrefix) {
        self.init(
            candidate, gateway: subnet.firstHost,
            summary:
                "\(candidate.flows) unreplied flow(s) from \(candidate.interface) (\(candidate.source)) to \(candidate.destination) leave by \(candidate.interface) on-link, but \(candidate.destination) is outside \(candidate.interface)'s subnet \(subnet): nobody answers ARP for it, route it via the subnet gateway (seen in live traffic)",
            lookup: "leaves by \(candidate.interface) on-link, without a gateway")
        remediation.text =
            "An on-link route sends this traffic out of \(candidate.interface) without a gateway, to an address outside its subnet \(subnet): the packets die in the neighbour table. Route the peer's subnet via \(candidate.interface)'s subnet gateway instead (ip route replace), or declare it under subnetRoutes."
    }

    private init(_ candidate: UnrepliedFlowScan.Candidate, gateway: IPAddress?, summary: String, lookup: String) {
        id = ID(interface: candidate.interface, destination: candidate.destination)
        self.summary = summary
        evidence = LiveTrafficRouteEvidence(
            interface: candidate.interface, source: "\(candidate.source)", destination: "\(candidate.destination)",
            unrepliedFlows: candidate.flows, lookup: "ip route get \(candidate.destination) from \(candidate.source): \(lookup)")
        let host = IPPrefix(address: candidate.destination, length: candidate.destination.bitWidth)
        remediation = LiveTrafficRouteRemediation(
            text:
                "Route the peer's subnet via \(candidate.interface)'s own subnet gateway, or declare it under subnetRoutes so pathwatch checks (and with auto-fix on, repairs) it.",
            commands: ["ip route add \(host) via \(gateway?.description ?? "the subnet gateway") dev \(candidate.interface)"],
            config: "subnetRoutes:\n  \(candidate.interface): [\"<peer subnet containing \(candidate.destination)>\"]")
    }
}

public struct LiveTrafficRouteEvidence: FindingDetail, Equatable {
    public var interface: String
    public var source: String
    public var destination: String
    public var unrepliedFlows: Int
    public var lookup: String
    public var origin = "conntrack"
}

public struct LiveTrafficRouteRemediation: FindingDetail, Equatable {
    public var text: String
    public var commands: [String]
    public var config: String
}
