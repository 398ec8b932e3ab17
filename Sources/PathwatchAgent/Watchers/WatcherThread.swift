import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A dedicated OS thread for a blocking netlink receive loop.
///
/// Blocking receives must not run on Swift concurrency's cooperative pool (two cores means two
/// pool threads). The loop polls `isStopping` between receives, which time out every few
/// hundred milliseconds, so shutdown takes at most one timeout.
final class WatcherThread: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let finished = Mutex<(done: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))
    let name: String

    init(name: String) { self.name = name }

    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// Starts the thread running `session` over and over until stopped: a session that fails
    /// (a socket error, a dump the kernel refused) is logged and retried a second later with
    /// fresh sockets, so one bad moment never leaves the model unwatched for good.
    func startSupervised(logger: Logger, _ session: @escaping @Sendable (WatcherThread) throws -> Void) {
        start { thread in
            while !thread.isStopping {
                do {
                    try session(thread)
                } catch {
                    logger.error("\(thread.name) watcher failed; retrying in 1 s", metadata: ["error": "\(error)"])
                    thread.pause(seconds: 1)
                }
            }
        }
    }

    func start(_ body: @escaping @Sendable (WatcherThread) -> Void) {
        let thread = Thread { [self] in
            body(self)
            let waiter = finished.withLock { state -> CheckedContinuation<Void, Never>? in
                state.done = true
                return state.waiter
            }
            waiter?.resume()
        }
        thread.name = "pathwatch-\(name)"
        thread.start()
    }

    func stop() { stopping.store(true, ordering: .relaxed) }

    /// Waits until the thread's body has returned.
    func join() async {
        await withCheckedContinuation { continuation in
            let done = finished.withLock { state -> Bool in
                if state.done { return true }
                state.waiter = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }

    /// Waits for the thread, stopping it on graceful shutdown or when the service's task is
    /// cancelled (a sibling service failed, e.g. the HTTP port was taken).
    func runUntilShutdown() async {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await join()
            } onGracefulShutdown: { [self] in
                stop()
            }
        } onCancel: { [self] in
            stop()
        }
    }

    /// Sleeps up to `seconds`, waking early when asked to stop.
    func pause(seconds: Double) {
        var left = seconds
        while left > 0, !isStopping {
            let step = min(left, 0.1)
            Thread.sleep(forTimeInterval: step)
            left -= step
        }
    }
}
