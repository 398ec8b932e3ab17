import CNetlink
import Glibc
import Synchronization
import SystemPackage

/// An eventfd that wakes a thread blocked on its sockets: a watcher waits in `poll(2)` for its
/// netlink socket *or* this signal, so an idle agent sleeps until the kernel has something to
/// say and SIGTERM ends the wait at once, instead of waking every few hundred milliseconds to
/// look at a stop flag.
///
/// Raised once, it stays raised (the counter is never read back): every later wait returns at
/// once, which is what a stop request means.
///
/// Should the process be out of descriptors, there is no eventfd: waits then last at most
/// ``fallbackTimeoutMilliseconds`` and look at the flag, as watchers did before.
public final class WakeSignal: Sendable {
    /// The eventfd, or -1 when none could be created (`poll(2)` ignores negative descriptors).
    public let fileDescriptor: Int32
    private let raised = Atomic<Bool>(false)
    public static let fallbackTimeoutMilliseconds: Int32 = 250

    public init() {
        fileDescriptor = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
    }

    deinit { if fileDescriptor >= 0 { close(fileDescriptor) } }

    /// Wakes every current and future waiter.
    public func raise() {
        raised.store(true, ordering: .releasing)
        guard fileDescriptor >= 0 else { return }
        var one: UInt64 = 1
        _ = write(fileDescriptor, &one, MemoryLayout<UInt64>.size)
    }

    /// Whether ``raise()`` was called.
    public var isRaised: Bool { raised.load(ordering: .acquiring) }

    /// What ended a wait.
    public enum WaitResult: Equatable, Sendable {
        /// One of the descriptors is readable (or in error: the read that follows says which).
        case readable
        /// The signal was raised.
        case woken
        case timedOut
    }

    /// Sleeps until the signal is raised or `timeoutMilliseconds` pass (-1: no limit).
    public func wait(timeoutMilliseconds: Int32) -> WaitResult {
        Self.poll([], wake: self, timeoutMilliseconds: timeoutMilliseconds)
    }

    /// Waits until one of `descriptors` is readable, `wake` is raised, or the timeout passes.
    /// EINTR restarts the wait with the full timeout, which only lengthens a rare wait.
    public static func poll(_ descriptors: [Int32], wake: WakeSignal?, timeoutMilliseconds: Int32) -> WaitResult {
        if let wake, wake.isRaised { return .woken }
        var timeout = timeoutMilliseconds
        if let wake, wake.fileDescriptor < 0, timeout < 0 || timeout > fallbackTimeoutMilliseconds {
            timeout = fallbackTimeoutMilliseconds
        }
        var fds = descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        if let wake { fds.append(pollfd(fd: wake.fileDescriptor, events: Int16(POLLIN), revents: 0)) }
        while true {
            let ready = fds.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), timeout) }
            if ready < 0, Errno.current == .interrupted { continue }
            if let wake, wake.isRaised { return .woken }
            return ready <= 0 ? .timedOut : .readable
        }
    }
}
