import Netlink

/// The part of the kernel's neighbour tables (ARP, ND) the detectors read: entries whose
/// resolution is unanswered (`INCOMPLETE`, `FAILED`), by interface and address.
///
/// Big nodes hold tens of thousands of entries, nearly all resolved and changing state all the
/// time (`REACHABLE` → `STALE` → `DELAY` …). The gateway check and the on-link signature only
/// ask "is this address unanswered?", and an entry that resolved or went away answers "no" the
/// same way, so only unanswered entries are kept: a key and two bytes of state each, at most
/// ``capacity`` of them. An unanswered entry that finds the view full is dropped and counted;
/// resolved entries never cost anything.
public struct NeighbourView: Sendable {
    public struct Key: Hashable, Sendable {
        public var interface: InterfaceIndex
        public var address: IPAddress
        public init(interface: InterfaceIndex, address: IPAddress) {
            self.interface = interface
            self.address = address
        }
    }

    /// What one event did to the view.
    public enum Outcome: Equatable, Sendable {
        case unchanged
        case changed
        /// Unanswered, but the view was full: not kept (`pathwatch_neighbour_entries_dropped_total`).
        case dropped
    }

    /// Enough for every gateway and a burst of unanswered off-subnet destinations; a subnet
    /// scan beyond it is counted, not kept.
    public static let defaultCapacity = 4096

    /// The states that mean "nobody has answered": resolution under way or given up.
    public static let unanswered: NeighbourState = [.incomplete, .failed]

    public let capacity: Int
    public private(set) var entries: [Key: NeighbourState] = [:]
    /// Unanswered entries not kept since start (`pathwatch_neighbour_entries_dropped_total`);
    /// carried over when the view is rebuilt from a dump.
    public internal(set) var droppedTotal: UInt64 = 0

    public init(capacity: Int = Self.defaultCapacity) { self.capacity = max(0, capacity) }

    public var count: Int { entries.count }

    /// The unanswered state of `address` on `interface`; nil when it resolved, never was tried,
    /// or was not kept.
    public func state(of address: IPAddress, on interface: InterfaceIndex) -> NeighbourState? {
        entries[Key(interface: interface, address: address)]
    }

    /// Applies an `RTM_NEWNEIGH` (`removed` false) or `RTM_DELNEIGH`.
    @discardableResult
    public mutating func apply(_ neighbour: Neighbour, removed: Bool) -> Outcome {
        guard let address = neighbour.address else { return .unchanged }
        let key = Key(interface: neighbour.interface, address: address)
        let state = neighbour.state.intersection(Self.unanswered)
        guard !removed, !neighbour.isProxy, !state.isEmpty else {
            return entries.removeValue(forKey: key) == nil ? .unchanged : .changed
        }
        if let old = entries[key] {
            entries[key] = state
            return old == state ? .unchanged : .changed
        }
        guard entries.count < capacity else {
            droppedTotal += 1
            return .dropped
        }
        entries[key] = state
        return .changed
    }

    /// Forgets the entries of an interface that went away (the kernel flushes its table, and
    /// not every kernel says so entry by entry).
    public mutating func removeAll(on interface: InterfaceIndex) {
        entries = entries.filter { $0.key.interface != interface }
    }

    public mutating func removeAll() { entries.removeAll() }
}

extension NeighbourView {
    /// What the metrics show of the view.
    public struct Summary: Sendable, Equatable {
        public var entries: Int
        public var droppedTotal: UInt64
        public init(entries: Int = 0, droppedTotal: UInt64 = 0) {
            self.entries = entries
            self.droppedTotal = droppedTotal
        }
    }

    public var summary: Summary { Summary(entries: count, droppedTotal: droppedTotal) }
}
