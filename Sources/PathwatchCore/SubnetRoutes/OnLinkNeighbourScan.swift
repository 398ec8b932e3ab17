import Netlink

/// The incident's half-fix found from the neighbour table, with no configuration: an entry that
/// stays unanswered on an interface for an address outside every subnet of that interface means
/// an on-link route sends another subnet's traffic out of it, and nobody answers ARP/ND for an
/// address off the link. One finding per interface (a /16 on-link route would otherwise open
/// thousands), confirmed by the kernel's own route lookup, so it clears as soon as the route is
/// right again, whoever fixed it, even while the stale `FAILED` entry lingers.
public struct OnLinkNeighbourScan: Sendable {
    public typealias Instant = ContinuousClock.Instant

    /// An unanswered entry off the interface's subnets, and the interface address to look up from.
    public struct Candidate: Hashable, Sendable {
        public var interface: String
        public var interfaceIndex: InterfaceIndex
        public var source: IPAddress
        public var subnets: [IPPrefix]
        public var address: IPAddress
        public var state: NeighbourState
    }

    /// At most this many entries are looked up per tick: a flood of them costs bounded work.
    public static let lookupLimit = 32

    private var unansweredSince: [NeighbourView.Key: Instant] = [:]
    private var open: Set<String> = []
    /// The on-link route found when a finding opened, per interface, kept while it is open.
    private var routes: [String: IPPrefix] = [:]

    public init() {}

    /// Whether a later tick can change a verdict with no new neighbour or model change: an entry
    /// is waiting out the resolution timeout, or a finding is open.
    public var isWaiting: Bool { !unansweredSince.isEmpty || !open.isEmpty }

    /// Unanswered entries on interfaces with an address of the entry's family, for addresses
    /// outside every such subnet. Link-local and multicast addresses are always on the link.
    public static func candidates(in state: borrowing NodeState) -> [Candidate] {
        var result: [Candidate] = []
        guard !state.neighbours.entries.isEmpty else { return result }  // the idle, healthy case: no work
        var perInterface: [InterfaceIndex: [InterfaceAddress]] = [:]
        for a in state.addresses.values where !a.address.isLinkLocal { perInterface[a.interface, default: []].append(a) }
        for (key, neighbourState) in state.neighbours.entries {
            guard !key.address.isLinkLocal, !key.address.isMulticast, let name = state.links[key.interface]?.name else { continue }
            let own = (perInterface[key.interface] ?? []).filter { $0.address.family == key.address.family }
                .sorted { $0.address < $1.address }
            guard let source = own.first?.address, !own.contains(where: { $0.subnet.contains(key.address) }) else { continue }
            result.append(
                Candidate(
                    interface: name, interfaceIndex: key.interface, source: source, subnets: own.map(\.subnet), address: key.address,
                    state: neighbourState))
        }
        return result.sorted { ($0.interface, $0.address) < ($1.interface, $1.address) }
    }

    /// One tick: which interfaces have the signature now (`FAILED`, or `INCOMPLETE` for longer
    /// than the kernel's 3 s of probes, and the lookup still leaves by the interface on-link),
    /// and which findings close.
    ///
    /// `onLinkRoute` finds the route to name (one pass over the model's routes), asked only when
    /// a finding opens, not every second.
    public mutating func tick(
        _ candidates: [Candidate], at now: Instant, lookup: (_ to: IPAddress, _ from: IPAddress) -> RouteLookupOutcome,
        onLinkRoute: (Candidate) -> IPPrefix? = { _ in nil }
    ) -> (reports: [OnLinkNeighbourReport], cleared: [String]) {
        let keys = Set(candidates.map { NeighbourView.Key(interface: $0.interfaceIndex, address: $0.address) })
        unansweredSince = unansweredSince.filter { keys.contains($0.key) }
        var confirmed: [String: [Candidate]] = [:]
        var looked = 0
        for c in candidates {
            let key = NeighbourView.Key(interface: c.interfaceIndex, address: c.address)
            let since = unansweredSince[key] ?? now
            unansweredSince[key] = since
            guard c.state.contains(.failed) || now - since >= SubnetRouteEngine.resolutionTimeout, looked < Self.lookupLimit else {
                continue
            }
            looked += 1
            guard case .route(c.interfaceIndex?, nil, _) = lookup(c.address, c.source) else { continue }
            confirmed[c.interface, default: []].append(c)
        }
        let reports = confirmed.keys.sorted().map { interface in
            let opened = !open.contains(interface)
            if opened { routes[interface] = onLinkRoute(confirmed[interface]![0]) }
            var report = OnLinkNeighbourReport(confirmed[interface]!, route: routes[interface])
            report.opened = opened
            return report
        }
        let current = Set(confirmed.keys)
        let cleared = open.subtracting(current).sorted()
        open = current
        routes = routes.filter { current.contains($0.key) }
        return (reports, cleared)
    }

    /// The most specific gateway-less unicast route out of the candidate's interface that
    /// covers its address: the on-link route to name in the fix.
    public static func onLinkRoute(for c: Candidate, in state: borrowing NodeState) -> IPPrefix? {
        var best: IPPrefix?
        for route in state.routes.values
        where route.type == .unicast && route.gateway == nil && route.outputInterface == c.interfaceIndex
            && route.destination.contains(c.address) && route.destination.length > (best?.length ?? -1)
        {
            best = route.destination
        }
        return best
    }

    /// The finding key `/findings` serves for an interface (`on-link net1`).
    public static func key(_ interface: String) -> String { "on-link \(interface)" }
}

/// A `missing_subnet_route` finding from the neighbour table: one interface, the unanswered
/// addresses outside its subnets, what the kernel's lookup answers for the first.
public struct OnLinkNeighbourReport: Sendable, Equatable {
    public var key: String
    public var summary: String
    public var evidence: OnLinkNeighbourEvidence
    public var remediation: OnLinkNeighbourRemediation
    /// Whether this tick opened the finding (counted once), or only refreshed it.
    public var opened = true

    /// At most this many addresses are listed; `evidence.unanswered` counts them all.
    public static let listed = 8

    init(_ candidates: [OnLinkNeighbourScan.Candidate], route: IPPrefix?) {
        let first = candidates[0]
        let prefix = route.map { "\($0)" } ?? "PREFIX"
        let subnets = first.subnets.map(\.description)
        let gateway = first.subnets.first.map { "\($0.firstHost)" } ?? "the subnet gateway"
        key = OnLinkNeighbourScan.key(first.interface)
        summary =
            "\(candidates.count) address(es) outside \(first.interface)'s subnets (\(subnets.joined(separator: ", "))) do not answer ARP/ND on \(first.interface), first \(first.address) (\(first.state)): an on-link route sends another subnet's traffic out of \(first.interface) without a gateway, and every packet dies in the neighbour table (seen in the neighbour table)"
        evidence = OnLinkNeighbourEvidence(
            interface: first.interface, subnets: subnets, addresses: candidates.prefix(Self.listed).map { "\($0.address)" },
            unanswered: candidates.count, neighbourState: "\(first.state)",
            lookup: "ip route get \(first.address) from \(first.source): leaves by \(first.interface) on-link, without a gateway",
            route: route.map { "\($0) dev \(first.interface)" })
        let found =
            route == nil
            ? "An on-link route (`ip route show match \(first.address)` names it as PREFIX)"
            : "The on-link route `\(prefix) dev \(first.interface)`"
        remediation = OnLinkNeighbourRemediation(
            text:
                "\(found) sends traffic for \(first.address) out of \(first.interface) without a gateway, but \(first.address) is outside \(first.interface)'s subnets: nobody answers \(first.address.family == .inet6 ? "neighbour discovery" : "ARP") for it, so every packet dies in the neighbour table. Replace it with a route via \(first.interface)'s subnet gateway, on both sides, and declare the peer subnet under subnetRoutes so pathwatch checks (and with auto-fix on, repairs) it.",
            commands: (route == nil ? ["ip route show match \(first.address)"] : []) + [
                "ip route replace \(prefix) via \(gateway) dev \(first.interface)"
            ],
            config: "subnetRoutes:\n  \(first.interface): [\"<peer subnet containing \(first.address)>\"]")
    }
}

public struct OnLinkNeighbourEvidence: FindingDetail, Equatable {
    public var interface: String
    public var subnets: [String]
    public var addresses: [String]
    public var unanswered: Int
    public var neighbourState: String
    public var lookup: String
    /// The on-link route that sends the traffic there, as `ip route` prints it, when found.
    public var route: String?
    public var origin = "neighbour table"
}

public struct OnLinkNeighbourRemediation: FindingDetail, Equatable {
    public var text: String
    public var commands: [String]
    public var config: String
}

extension IPAddress {
    /// IPv4 224/4 and IPv6 ff00::/8: never a neighbour that answers for a route.
    var isMulticast: Bool {
        switch self {
        case .v4(let v): return v >> 28 == 0xE
        case .v6(let hi, _): return hi >> 56 == 0xFF
        }
    }
}
