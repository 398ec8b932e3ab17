import Netlink
import PathwatchCore
import Synchronization

/// The shared ``ConntrackTable`` behind a lock, plus whether any event was ever seen.
public final class LiveConntrackTable: Sendable {
    private let table: Mutex<ConntrackTable>
    private let sawEvents = Atomic<Bool>(false)
    /// The table's bound (`conntrack.maxTrackedFlows`).
    public let maxFlows: Int
    /// Flows left out for the bound across every table this one held (rebuilds included).
    private let untrackedBefore = Atomic<Int>(0)
    /// Entries the kernel's table held at the last dump, tracked or not.
    private let lastDumpEntries = Atomic<Int>(0)

    public init(maxFlows: Int = .max) {
        self.maxFlows = maxFlows
        table = Mutex(ConntrackTable(maxFlows: maxFlows))
    }

    public func apply(_ events: [ConntrackEvent], isTracked: (IPAddress) -> Bool = { _ in true }) {
        guard !events.isEmpty else { return }
        sawEvents.store(true, ordering: .relaxed)
        table.withLock { table in
            for event in events { table.apply(event, isTracked: isTracked) }
        }
    }

    /// Swaps in a table rebuilt from a dump (streamed into it off the lock, so readers wait only
    /// for the swap, and no array of decoded flows exists beside it).
    public func replace(with fresh: consuming ConntrackTable, kernelEntries: Int) {
        lastDumpEntries.store(kernelEntries, ordering: .relaxed)
        let old = table.withLock { current in
            let old = current.untrackedForBound
            current = fresh
            return old
        }
        untrackedBefore.add(old, ordering: .relaxed)
    }

    public func replaceAll(_ flows: [ConntrackFlow]) {
        var fresh = ConntrackTable(maxFlows: maxFlows, reservingCapacity: flows.count)
        for flow in flows { fresh.insert(flow) }
        replace(with: fresh, kernelEntries: flows.count)
    }

    public var count: Int { table.withLock { $0.count } }

    /// Flows not tracked because the table was full, since start.
    public var untrackedForBound: Int { untrackedBefore.load(ordering: .relaxed) + table.withLock { $0.untrackedForBound } }

    public var hasSeenEvents: Bool { sawEvents.load(ordering: .relaxed) }

    /// Whether conntrack is in use in this namespace as far as the agent has seen: the last dump
    /// found entries (tracked by the agent or not), or an event arrived.
    public var kernelHasFlows: Bool { hasSeenEvents || lastDumpEntries.load(ordering: .relaxed) > 0 }

    public func read<T>(_ body: (borrowing ConntrackTable) -> T) -> T { table.withLock { body($0) } }
}
