import Netlink

/// Which conntrack events the kernel hands the agent: those whose original source is a
/// node-local endpoint. That is all any detector reads — the pod hairpin starts at a local
/// endpoint, the live-traffic route scan at one of the node's addresses — while a server's
/// inbound flows (a remote client to a local server), usually most of a busy node's events, are
/// read by none and are left in the kernel.
///
/// A socket filter holds at most ``maxIPv4Prefixes`` IPv4 prefixes and one IPv6 prefix, so
/// endpoints are aggregated into covering prefixes when there are more (a node with hundreds of
/// pods): wider lets a few unread events through, never too narrow.
public struct ConntrackSourceSelection: Hashable, Sendable, CustomStringConvertible {
    /// IPv4 prefixes, or nil when IPv4 events are not filtered (nothing narrower fits).
    public var ipv4: [IPPrefix]?
    /// The one IPv6 prefix covering every IPv6 endpoint, or nil when IPv6 is not filtered.
    public var ipv6: IPPrefix?
    /// A family has endpoints but they spread too wide to select: its events all cross. (A family
    /// without endpoints is unfiltered too, which costs nothing worth a word.)
    public var tooWide = false

    public static let maxIPv4Prefixes = 127
    /// A covering IPv6 prefix shorter than this is no selection worth the name: IPv6 is left
    /// unfiltered instead.
    public static let shortestIPv6Prefix = 16
    /// The aggregation steps for IPv4 when there are too many prefixes.
    static let ipv4Steps = [24, 16, 8]

    public init(ipv4: [IPPrefix]?, ipv6: IPPrefix?) {
        self.ipv4 = ipv4
        self.ipv6 = ipv6
    }

    /// Everything: no filter.
    public static let everything = ConntrackSourceSelection(ipv4: nil, ipv6: nil)

    /// The prefixes to give the kernel (an unfiltered family contributes none).
    public var prefixes: [IPPrefix] { (ipv4 ?? []) + (ipv6.map { [$0] } ?? []) }

    /// Covers `prefixes` (host prefixes of endpoints, and subnets), aggregated to fit a filter.
    public init(covering prefixes: some Sequence<IPPrefix>) {
        var v4: [IPPrefix] = []
        var v6: [IPPrefix] = []
        for prefix in prefixes {
            let canonical = IPPrefix(address: prefix.address.masked(to: prefix.length), length: prefix.length)
            if canonical.address.family == .inet { v4.append(canonical) } else if !canonical.address.isLinkLocal { v6.append(canonical) }
        }
        self.init(ipv4: Self.aggregateIPv4(v4), ipv6: Self.coveringIPv6(v6))
        tooWide = (!v4.isEmpty && ipv4 == nil) || (!v6.isEmpty && ipv6 == nil)
    }

    /// Whether every event `other` lets through, this lets through too.
    public func covers(_ other: ConntrackSourceSelection) -> Bool {
        let v4Covered: Bool
        switch (ipv4, other.ipv4) {
        case (nil, _): v4Covered = true
        case (.some, nil): v4Covered = false
        case (let mine?, let theirs?): v4Covered = theirs.allSatisfy { p in mine.contains { $0.covers(p) } }
        }
        let v6Covered: Bool
        switch (ipv6, other.ipv6) {
        case (nil, _): v6Covered = true
        case (.some, nil): v6Covered = false
        case (let mine?, let theirs?): v6Covered = mine.covers(theirs)
        }
        return v4Covered && v6Covered
    }

    /// The smallest selection that lets through what either does (within the filter's limits).
    public func union(_ other: ConntrackSourceSelection) -> ConntrackSourceSelection {
        let v4: [IPPrefix]? = ipv4.flatMap { mine in other.ipv4.flatMap { Self.aggregateIPv4(mine + $0) } }
        let v6: IPPrefix? = ipv6.flatMap { mine in other.ipv6.flatMap { Self.coveringIPv6([mine, $0]) } }
        var union = ConntrackSourceSelection(ipv4: v4, ipv6: v6)
        union.tooWide = tooWide || other.tooWide
        return union
    }

    public var description: String {
        let v4 = ipv4.map { $0.isEmpty ? "all IPv4 (no IPv4 endpoint)" : "\($0.count) IPv4 prefixes" } ?? "all IPv4"
        let v6 = ipv6.map { "IPv6 \($0)" } ?? "all IPv6"
        return "\(v4), \(v6)"
    }

    /// Removes prefixes inside others, then widens step by step until the list fits.
    static func aggregateIPv4(_ prefixes: [IPPrefix]) -> [IPPrefix]? {
        var current = minimal(prefixes)
        for step in ipv4Steps where current.count > maxIPv4Prefixes {
            current = minimal(current.map { $0.length > step ? IPPrefix(address: $0.address.masked(to: step), length: step) : $0 })
        }
        return current.count > maxIPv4Prefixes ? nil : current
    }

    /// The longest prefix that covers them all, or nil when that is too short to select.
    static func coveringIPv6(_ prefixes: [IPPrefix]) -> IPPrefix? {
        guard var covering = prefixes.first else { return nil }
        for prefix in prefixes.dropFirst() {
            var length = min(covering.length, prefix.length)
            while length > 0, covering.address.masked(to: length) != prefix.address.masked(to: length) { length -= 1 }
            covering = IPPrefix(address: covering.address.masked(to: length), length: length)
        }
        return covering.length >= shortestIPv6Prefix ? covering : nil
    }

    /// Sorted, without duplicates or prefixes contained in another.
    private static func minimal(_ prefixes: [IPPrefix]) -> [IPPrefix] {
        var result: [IPPrefix] = []
        for prefix in prefixes.sorted(by: { ($0.length, $0.address) < ($1.length, $1.address) })
        where !result.contains(where: { $0.covers(prefix) }) {
            result.append(prefix)
        }
        return result.sorted { ($0.address, $0.length) < ($1.address, $1.length) }
    }
}

extension IPPrefix {
    /// Whether every address of `other` is in this prefix.
    public func covers(_ other: IPPrefix) -> Bool { other.length >= length && contains(other.address) }
}

extension NodeState {
    /// What conntrack events the detectors need: sources that are the node's own addresses,
    /// workload addresses routed to container links, and the subnets of addresses on bridges
    /// (pods behind a bridge CNI live there, not behind host routes).
    public var conntrackSources: ConntrackSourceSelection {
        var prefixes: [IPPrefix] = []
        // Loopback flows never leave the node: no detector reads them, and health checks make many.
        for endpoint in localEndpoints where !endpoint.isLoopback {
            prefixes.append(IPPrefix(address: endpoint, length: endpoint.bitWidth))
        }
        for address in addresses.values where links[address.interface]?.kind == "bridge" { prefixes.append(address.subnet) }
        return ConntrackSourceSelection(covering: prefixes)
    }

    /// The node's own interface addresses: the sources the conntrack table keeps flows of (the
    /// live-traffic route scan reads nothing else from it).
    public var interfaceAddresses: Set<IPAddress> { Set(addresses.values.map(\.address)) }
}
