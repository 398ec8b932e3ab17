import Foundation
import Synchronization

/// Wakes a waiting thread when something it evaluates has changed (the model, the auto-fix
/// mode, the configuration). Changes that arrive while it is busy coalesce into one wake-up.
public final class ChangeSignal: Sendable {
    private let pending = Mutex<Bool>(false)
    private let semaphore = DispatchSemaphore(value: 0)

    public init() {}

    public func notify() {
        let wasPending = pending.withLock { p in
            defer { p = true }
            return p
        }
        if !wasPending { semaphore.signal() }
    }

    /// Waits up to `seconds` for a change; returns whether one came.
    public func wait(seconds: Double) -> Bool {
        guard semaphore.wait(timeout: .now() + seconds) == .success else { return false }
        pending.withLock { $0 = false }
        return true
    }
}
