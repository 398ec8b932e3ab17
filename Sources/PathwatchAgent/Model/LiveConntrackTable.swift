import Netlink
import PathwatchCore
import Synchronization

/// The shared ``ConntrackTable`` behind a lock, plus whether any event was ever seen.
public final class LiveConntrackTable: Sendable {
    private let table = Mutex<ConntrackTable>(ConntrackTable())
    private let sawEvents = Atomic<Bool>(false)

    public init() {}

    public func apply(_ events: [ConntrackEvent]) {
        guard !events.isEmpty else { return }
        sawEvents.store(true, ordering: .relaxed)
        table.withLock { table in
            for event in events { table.apply(event) }
        }
    }

    public func replaceAll(_ flows: [ConntrackFlow]) {
        table.withLock { $0.replaceAll(flows) }
    }

    public var count: Int { table.withLock { $0.count } }

    public var hasSeenEvents: Bool { sawEvents.load(ordering: .relaxed) }

    public func read<T>(_ body: (borrowing ConntrackTable) -> T) -> T { table.withLock { body($0) } }
}
