import CNetlink
import Glibc
import Logging
import NetlinkIO
import ServiceLifecycle
import Synchronization

/// A dedicated OS thread for a blocking netlink receive loop.
///
/// Blocking receives must not run on Swift concurrency's cooperative pool (two cores means two
/// pool threads). The thread's sockets wait on ``wake`` as well as on the kernel
/// (``NetlinkSocket/wakeOnSignal(_:idleTimeoutMilliseconds:)``), so the thread sleeps while
/// nothing happens and a stop request ends its wait at once.
final class WatcherThread: Sendable {
    private let stopping = Atomic<Bool>(false)
    /// Raised by ``stop()``; hand it to every socket this thread blocks on.
    let wake: WakeSignal
    private let stopActions = Mutex<[@Sendable () -> Void]>([])
    private let finished = Mutex<(done: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))
    let name: String

    init(name: String) {
        self.name = name
        wake = WakeSignal()
    }

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
        let started = OSThread.detach { [self] in
            // The kernel's thread name (`top -H`, `/proc/PID/task/*/comm`, 15 bytes at most).
            _ = cnl_set_thread_name(String(decoding: "pw-\(name)".utf8.prefix(15), as: UTF8.self))
            body(self)
            finish()
        }
        // Out of threads: the watcher cannot run; say so, and end it at once instead of leaving
        // its service waiting forever.
        if !started {
            StandardError.write("pathwatch: cannot start the \(name) thread: \(String(cString: strerror(EAGAIN)))\n")
            finish()
        }
    }

    private func finish() {
        let waiter = finished.withLock { state -> CheckedContinuation<Void, Never>? in
            state.done = true
            return state.waiter
        }
        waiter?.resume()
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        wake.raise()
        for action in stopActions.withLock({ $0 }) { action() }
    }

    /// Also runs `action` on stop: for a thread that waits on something other than its sockets
    /// (the repairer waits on the model's change signal), so that wait ends at once too.
    func alsoOnStop(_ action: @escaping @Sendable () -> Void) {
        stopActions.withLock { $0.append(action) }
    }

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

    /// Sleeps up to `seconds`, waking at once when asked to stop.
    func pause(seconds: Double) {
        guard seconds > 0, !isStopping else { return }
        _ = wake.wait(timeoutMilliseconds: Int32(clamping: Int((seconds * 1000).rounded(.up))))
    }
}
