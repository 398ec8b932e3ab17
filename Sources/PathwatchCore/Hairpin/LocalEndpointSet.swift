import Netlink

/// A span of addresses of one family, first and last included: how an nftables interval set
/// holds a node address (one address), a pod's /32 or a bridge's subnet.
public struct AddressRange: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var first: IPAddress
    public var last: IPAddress

    public init(first: IPAddress, last: IPAddress) {
        self.first = first
        self.last = last
    }

    public init(_ address: IPAddress) { self.init(first: address, last: address) }

    public init(_ prefix: IPPrefix) {
        self.init(first: prefix.address.masked(to: prefix.length), last: prefix.address.lastAddress(of: prefix.length))
    }

    public var family: AddressFamily { first.family }

    /// The address after `last`, where an interval set puts the range's end element; nil when
    /// `last` is the family's highest address (the range is then open-ended).
    public var end: IPAddress? { last.successor }

    public static func < (a: AddressRange, b: AddressRange) -> Bool { (a.first, a.last) < (b.first, b.last) }

    public var description: String { first == last ? "\(first)" : "\(first)-\(last)" }

    /// Sorted, disjoint ranges covering exactly `ranges`: overlapping and adjacent ones merged
    /// (the kernel refuses overlapping intervals, and a range ending where the next begins would
    /// put an end and a start element on the same key).
    public static func merged(_ ranges: some Sequence<AddressRange>) -> [AddressRange] {
        var out: [AddressRange] = []
        for range in ranges.sorted() {
            if var previous = out.last, previous.family == range.family, previous.end.map({ range.first <= $0 }) ?? true {
                previous.last = max(previous.last, range.last)
                out[out.count - 1] = previous
            } else {
                out.append(range)
            }
        }
        return out
    }
}

/// The node-local endpoints as the probe's nftables sets hold them, kept in step with the model:
/// widened at once (a new pod's address is in the set before the pod can send), narrowed only
/// after ``narrowDelay`` (the same rule as the conntrack filter: a pod that went away may still
/// have connections being answered, and a stale entry costs at most a logged SYN that the agent
/// then drops).
///
/// Pure: the caller reads the model, commits the change as one nf_tables transaction and tells
/// the planner it was applied.
public struct LocalEndpointSetPlanner: Sendable {
    public typealias Instant = ContinuousClock.Instant

    /// What to change in the kernel's sets, in one transaction: the ranges to delete first, then
    /// the ranges to add (a reshaped range is both, so coverage never has a gap).
    public struct Change: Equatable, Sendable {
        public var remove: [AddressRange]
        public var add: [AddressRange]
        public var isEmpty: Bool { remove.isEmpty && add.isEmpty }
        public init(remove: [AddressRange] = [], add: [AddressRange] = []) {
            self.remove = remove
            self.add = add
        }
    }

    public let narrowDelay: Duration
    /// The merged ranges the kernel holds (after the last applied change).
    public private(set) var installed: [AddressRange] = []
    private var wanted: Set<AddressRange> = []
    /// Ranges no longer wanted, kept until then.
    private var leaving: [AddressRange: Instant] = [:]

    public init(narrowDelay: Duration = .seconds(30)) { self.narrowDelay = narrowDelay }

    /// The elementary ranges of `endpoints`: every address, every subnet.
    public static func ranges(of endpoints: LocalEndpoints) -> Set<AddressRange> {
        Set(endpoints.addresses.map(AddressRange.init) + endpoints.subnets.map(AddressRange.init))
    }

    /// The change that brings the sets to `endpoints` now: additions at once, removals once
    /// their delay has passed.
    public mutating func plan(_ endpoints: LocalEndpoints, at now: Instant) -> Change {
        let fresh = Self.ranges(of: endpoints)
        for gone in wanted.subtracting(fresh) where leaving[gone] == nil { leaving[gone] = now + narrowDelay }
        for back in fresh where leaving[back] != nil { leaving.removeValue(forKey: back) }
        leaving = leaving.filter { $0.value > now }
        wanted = fresh
        let target = AddressRange.merged(fresh.union(leaving.keys))
        let (old, new) = (Set(installed), Set(target))
        return Change(remove: installed.filter { !new.contains($0) }, add: target.filter { !old.contains($0) })
    }

    /// The kernel now holds what the last plan asked for.
    public mutating func applied(_ change: Change) {
        let removed = Set(change.remove)
        installed = AddressRange.merged(installed.filter { !removed.contains($0) } + change.add)
    }

    /// The kernel's sets are empty again (the table was recreated).
    public mutating func reset() { installed = [] }

    /// When the next removal falls due (the caller plans again then); nil when none waits.
    public var nextNarrowing: Instant? { leaving.values.min() }
}

extension IPAddress {
    /// The highest address of the prefix of `length` bits this address is in.
    public func lastAddress(of length: Int) -> IPAddress {
        switch self {
        case .v4(let value):
            let host: UInt32 = length >= 32 ? 0 : length <= 0 ? .max : .max >> UInt32(length)
            return .v4(value | host)
        case .v6(let hi, let lo):
            let hostHi: UInt64 = length >= 64 ? 0 : length <= 0 ? .max : .max >> UInt64(length)
            let hostLo: UInt64 = length >= 128 ? 0 : length <= 64 ? .max : .max >> UInt64(length - 64)
            return .v6(hi | hostHi, lo | hostLo)
        }
    }

    /// The next address of the family; nil after the highest.
    public var successor: IPAddress? {
        switch self {
        case .v4(let value): return value == .max ? nil : .v4(value + 1)
        case .v6(let hi, let lo):
            if lo != .max { return .v6(hi, lo + 1) }
            return hi == .max ? nil : .v6(hi + 1, 0)
        }
    }
}
