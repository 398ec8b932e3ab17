import Dispatch
import Synchronization

/// Wakes a waiting thread when something it evaluates has changed (the model, the auto-fix
/// mode, the configuration, the unanswered neighbour entries). Changes that arrive while it is
/// busy coalesce into one wake-up that says which kinds came, so a neighbour entry going
/// unanswered wakes the gateway check without re-running every route evaluation.
public final class ChangeSignal: Sendable {
    public struct Kinds: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// Links, addresses, routes, rules, the auto-fix mode, the configuration.
        public static let model = Kinds(rawValue: 1 << 0)
        /// The model's view of unanswered neighbour entries.
        public static let neighbours = Kinds(rawValue: 1 << 1)
    }

    private let pending = Mutex<Kinds>([])
    private let semaphore = DispatchSemaphore(value: 0)

    public init() {}

    public func notify(_ kinds: Kinds = .model) {
        let wasPending = pending.withLock { p in
            defer { p.formUnion(kinds) }
            return !p.isEmpty
        }
        if !wasPending { semaphore.signal() }
    }

    /// Waits up to `seconds` for a change; returns the kinds that came (empty on timeout).
    public func wait(seconds: Double) -> Kinds {
        guard semaphore.wait(timeout: .now() + seconds) == .success else { return [] }
        return pending.withLock { p in
            defer { p = [] }
            return p
        }
    }
}
