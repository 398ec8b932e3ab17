import Netlink

/// Finds, in live traffic, what `subnetRoutes` would have said: flows sourced from one
/// interface's address that get no reply, whose destination the kernel routes out of *another*
/// interface. That is the incident's signature even on a node nobody configured.
public enum UnrepliedFlowScan {
    /// A source/destination pair to check with a route lookup.
    public struct Candidate: Hashable, Sendable {
        public var interface: String
        public var interfaceIndex: InterfaceIndex
        public var source: IPAddress
        public var destination: IPAddress
        /// Unreplied flows between the two, seen in two consecutive scans.
        public var flows: Int
    }

    /// Flows without a reply that were already unreplied at the previous scan (so a connection
    /// that is merely being set up does not count), grouped by source and destination, where the
    /// source is an address of an interface on this node. A pair that has a replied flow on any
    /// port or protocol is left out: its path works and the silent ones are a dead peer port,
    /// not a routing failure. At most `limit` candidates, the most
    /// flows first, so a node under a SYN flood does a bounded number of lookups.
    public static func candidates(
        table: borrowing ConntrackTable, previouslyUnreplied: Set<UInt32>, state: borrowing NodeState, limit: Int = 32
    ) -> (candidates: [Candidate], unreplied: Set<UInt32>) {
        candidates(forEachFlow: { body in table.forEach(body) }, previouslyUnreplied: previouslyUnreplied, state: state, limit: limit)
    }

    /// The same over decoded flows (tests, recorded dumps).
    public static func candidates(
        flows: [UInt32: ConntrackFlow], previouslyUnreplied: Set<UInt32>, state: borrowing NodeState, limit: Int = 32
    ) -> (candidates: [Candidate], unreplied: Set<UInt32>) {
        candidates(
            forEachFlow: { body in for (id, flow) in flows { body(id, TrackedFlow(flow)) } }, previouslyUnreplied: previouslyUnreplied,
            state: state, limit: limit)
    }

    private static func candidates(
        forEachFlow: ((UInt32, TrackedFlow) -> Void) -> Void, previouslyUnreplied: Set<UInt32>, state: borrowing NodeState, limit: Int
    ) -> (candidates: [Candidate], unreplied: Set<UInt32>) {
        var owner: [IPAddress: InterfaceIndex] = [:]
        for address in state.addresses.values where !address.address.isLinkLocal {
            owner[address.address] = address.interface
        }
        var unreplied: Set<UInt32> = []
        var counts: [Pair: Int] = [:]
        var answered: Set<Pair> = []
        forEachFlow { id, flow in
            guard !flow.status.contains(.seenReply) else {
                if let interface = owner[flow.original.source] {
                    answered.insert(Pair(interface: interface, source: flow.original.source, destination: flow.original.destination))
                }
                return
            }
            unreplied.insert(id)
            guard previouslyUnreplied.contains(id), let interface = owner[flow.original.source],
                !flow.original.destination.isLoopback, owner[flow.original.destination] == nil
            else { return }
            counts[Pair(interface: interface, source: flow.original.source, destination: flow.original.destination), default: 0] += 1
        }
        let names = state.links.mapValues(\.name)
        counts = counts.filter { !answered.contains($0.key) }
        let sorted = counts.sorted { ($0.value, $0.key.destination) > ($1.value, $1.key.destination) }.prefix(limit)
        let candidates = sorted.compactMap { pair, count -> Candidate? in
            guard let name = names[pair.interface] else { return nil }
            return Candidate(
                interface: name, interfaceIndex: pair.interface, source: pair.source, destination: pair.destination, flows: count)
        }
        return (candidates, unreplied)
    }

    private struct Pair: Hashable {
        var interface: InterfaceIndex
        var source: IPAddress
        var destination: IPAddress
    }

    /// Whether the kernel's answer for a candidate is the incident: traffic from the interface's
    /// address leaves by a different interface.
    public static func isMisrouted(_ candidate: Candidate, lookup: RouteLookupOutcome) -> Bool {
        if case .route(let interface?, _, _) = lookup { return interface != candidate.interfaceIndex }
        return false
    }

    /// What is wrong with the path of an unreplied pair, if its route explains the silence.
    public enum Misroute: Hashable, Sendable {
        /// It leaves by another interface (the incident): `via` that interface's gateway.
        case otherInterface(InterfaceIndex, via: IPAddress?)
        /// It leaves by the right interface on-link, but the destination is outside the source's
        /// subnet: nobody answers ARP/ND for it (the incident's half-fix, `ip route add … dev net1`).
        case onLinkOutsideSubnet(IPPrefix)
    }

    /// The verdict for a candidate, given the subnet of its source address.
    public static func misroute(_ candidate: Candidate, lookup: RouteLookupOutcome, sourceSubnet: IPPrefix?) -> Misroute? {
        guard case .route(let interface?, let gateway, _) = lookup else { return nil }
        if interface != candidate.interfaceIndex { return .otherInterface(interface, via: gateway) }
        if gateway == nil, let sourceSubnet, !sourceSubnet.contains(candidate.destination) {
            return .onLinkOutsideSubnet(sourceSubnet)
        }
        return nil
    }
}

extension IPAddress {
    /// 127.0.0.0/8 and ::1.
    public var isLoopback: Bool {
        switch self {
        case .v4(let v): return v >> 24 == 127
        case .v6(let hi, let lo): return hi == 0 && lo == 1
        }
    }
}
