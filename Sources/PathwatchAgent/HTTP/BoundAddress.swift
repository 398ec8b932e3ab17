import NIOCore
import Synchronization

/// The address the server listens on, once known, for callers that await it.
final class BoundAddress: Sendable {
    private struct State {
        var result: Result<SocketAddress, any Error>?
        var waiters: [Int: CheckedContinuation<SocketAddress, any Error>] = [:]
        var cancelledWaiters: Set<Int> = []
        var nextWaiterID = 0
    }

    private let state = Mutex(State())

    init() {}

    func resolve(_ result: Result<SocketAddress, any Error>) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<SocketAddress, any Error>] in
            guard state.result == nil else { return [] }
            state.result = result
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters {
            waiter.resume(with: result)
        }
    }

    /// Waits until `resolve` is called; throws `CancellationError` if the task is cancelled first.
    func value() async throws -> SocketAddress {
        let id = self.state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let ready = self.state.withLock { state -> Result<SocketAddress, any Error>? in
                    if let result = state.result { return result }
                    if state.cancelledWaiters.remove(id) != nil { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let ready {
                    continuation.resume(with: ready)
                }
            }
        } onCancel: {
            let waiter = self.state.withLock { state in
                guard let waiter = state.waiters.removeValue(forKey: id) else {
                    if state.result == nil { state.cancelledWaiters.insert(id) }
                    return nil as CheckedContinuation<SocketAddress, any Error>?
                }
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
