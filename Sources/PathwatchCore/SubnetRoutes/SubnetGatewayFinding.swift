import Netlink

/// A subnet gateway that expectations route through, by interface.
public struct SubnetGatewayID: Hashable, Sendable, CustomStringConvertible {
    public var interface: String
    public var interfaceIndex: InterfaceIndex
    public var gateway: IPAddress

    public init(_ e: SubnetRouteExpectation) {
        interface = e.interface
        interfaceIndex = e.interfaceIndex
        gateway = e.gateway
    }

    /// The finding key `/findings` serves (`gateway net1 10.4.2.1`).
    public var description: String { "gateway \(interface) \(gateway)" }
}

/// A subnet gateway that does not answer address resolution: the route is right, but every
/// packet routed via the gateway dies in the neighbour table. Its own finding, not a missing
/// route (the `missing_subnet_route` kind, keyed by the gateway).
public struct SubnetGatewayReport: Sendable, Equatable {
    public var id: SubnetGatewayID
    public var summary: String
    public var evidence: SubnetGatewayEvidence
    public var remediation: SubnetGatewayRemediation

    public init(_ id: SubnetGatewayID, state: NeighbourState, destinations: [IPPrefix]) {
        self.id = id
        let unique = Array(Set(destinations.map(\.description))).sorted()
        let routed = unique.joined(separator: ", ")
        summary =
            "The subnet gateway \(id.gateway) does not answer on \(id.interface) (neighbour entry \(state)): traffic routed via it to \(routed) is dropped before it leaves the node. The route is right; the gateway is not reachable"
        evidence = SubnetGatewayEvidence(
            interface: id.interface, gateway: "\(id.gateway)", neighbourState: "\(state)", destinations: unique,
            lookup: "ip neigh get \(id.gateway) dev \(id.interface): \(state)")
        remediation = SubnetGatewayRemediation(
            text:
                "Nobody answers \(id.gateway.family == .inet6 ? "neighbour discovery" : "ARP") for \(id.gateway) on \(id.interface). Check that it is this subnet's router (if the subnet's router is another address, set subnetGateways), that the interface is attached to the right network, and that nothing filters ARP/ND on the link.",
            commands: [
                "ip neigh show \(id.gateway) dev \(id.interface)",
                id.gateway.family == .inet6 ? "ndisc6 \(id.gateway) \(id.interface)" : "arping -c 3 -I \(id.interface) \(id.gateway)",
            ])
    }
}

public struct SubnetGatewayEvidence: FindingDetail, Equatable {
    public var interface: String
    public var gateway: String
    public var neighbourState: String
    public var destinations: [String]
    public var lookup: String
    public var origin = "neighbour table"
}

public struct SubnetGatewayRemediation: FindingDetail, Equatable {
    public var text: String
    public var commands: [String]
}

extension SubnetRouteEngine {
    /// The gateways the last pass's holding expectations route through, with their destinations.
    public var gatewaysInUse: [SubnetGatewayID: [IPPrefix]] { gateways.inUse }

    /// Whether a later check can change a verdict with no new neighbour or model change: a
    /// gateway's resolution is waiting out ``resolutionTimeout``, or its finding is open. When
    /// neither, the caller may sleep until something changes.
    public var isWatchingGateways: Bool { !gateways.unresolvedSince.isEmpty || !gateways.unanswered.isEmpty }

    /// How long resolution may stay unanswered before the gateway counts as not answering: the
    /// kernel's default is three probes a second apart, then `FAILED`.
    public static let resolutionTimeout = Duration.seconds(3)

    /// Records what the neighbour table says about a gateway in use. `FAILED`, or `INCOMPLETE`
    /// for longer than ``resolutionTimeout``, opens (or updates) the finding: under steady traffic
    /// the kernel turns `FAILED` back into `INCOMPLETE` at the next packet, so `FAILED` alone is
    /// seen only in passing. A resolved entry, or none, closes it.
    mutating func observe(_ id: SubnetGatewayID, state: NeighbourState?, at now: Instant) -> SubnetRouteEvent? {
        let resolved: NeighbourState = [.reachable, .stale, .delay, .probe, .permanent, .noARP]
        guard let state, state.isDisjoint(with: resolved) else {
            gateways.unresolvedSince.removeValue(forKey: id)
            return gateways.unanswered.remove(id) != nil ? .gatewayAnswers(id) : nil
        }
        let since = gateways.unresolvedSince[id] ?? now
        gateways.unresolvedSince[id] = since
        guard state.contains(.failed) || gateways.unanswered.contains(id) || now - since >= Self.resolutionTimeout else { return nil }
        let opened = gateways.unanswered.insert(id).inserted
        return .gatewayUnanswered(SubnetGatewayReport(id, state: state, destinations: gateways.inUse[id] ?? []), opened: opened)
    }

    /// Gateways no holding expectation uses any more lose their findings.
    mutating func forgetUnusedGateways() -> [SubnetRouteEvent] {
        let unused = gateways.unanswered.filter { gateways.inUse[$0] == nil }
        gateways.unanswered.subtract(unused)
        gateways.unresolvedSince = gateways.unresolvedSince.filter { gateways.inUse[$0.key] != nil }
        return unused.sorted { $0.description < $1.description }.map { .gatewayAnswers($0) }
    }
}

/// The engine's memory of gateways.
struct GatewayMemory: Sendable {
    var inUse: [SubnetGatewayID: [IPPrefix]] = [:]
    var unanswered: Set<SubnetGatewayID> = []
    /// Since when resolution has been unanswered (`INCOMPLETE` or `FAILED`), per gateway.
    var unresolvedSince: [SubnetGatewayID: ContinuousClock.Instant] = [:]
}
