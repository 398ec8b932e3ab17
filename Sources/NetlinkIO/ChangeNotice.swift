import CNetlink
import Glibc

/// An eventfd that tells a thread sleeping in `poll(2)` on its sockets that something changed
/// elsewhere in the process (the node model), so it can react at once instead of looking on a
/// timer. Unlike ``WakeSignal`` it is taken back: ``consume()`` resets it.
///
/// Notifications coalesce: many changes before a ``consume()`` read as one.
public final class ChangeNotice: Sendable {
    /// The eventfd, or -1 when none could be created (`poll(2)` ignores negative descriptors;
    /// the waiter then learns of changes only when it wakes for another reason).
    public let fileDescriptor: Int32

    public init() {
        fileDescriptor = eventfd(0, Int32(EFD_CLOEXEC) | Int32(EFD_NONBLOCK))
    }

    deinit { if fileDescriptor >= 0 { close(fileDescriptor) } }

    public func notify() {
        guard fileDescriptor >= 0 else { return }
        var one: UInt64 = 1
        _ = write(fileDescriptor, &one, MemoryLayout<UInt64>.size)
    }

    /// Whether ``notify()`` was called since the last call; resets the notice.
    public func consume() -> Bool {
        guard fileDescriptor >= 0 else { return false }
        var count: UInt64 = 0
        return read(fileDescriptor, &count, MemoryLayout<UInt64>.size) == MemoryLayout<UInt64>.size && count > 0
    }
}
