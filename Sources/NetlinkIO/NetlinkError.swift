import Glibc
import Netlink
import SystemPackage

extension Errno {
    /// The error number the last failed system call left in `errno`.
    public static var current: Errno { Errno(rawValue: errno) }
}

/// Every failure of a netlink operation, naming the operation.
public struct NetlinkError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A system call failed.
        case system(Errno)
        /// The kernel answered `NLMSG_ERROR` with this errno (and extended-ACK text, if any).
        case kernel(Errno, message: String?)
        /// The receive queue overflowed (`ENOBUFS`): events were lost; re-dump and reconcile.
        case overrun
        /// A dump raced a change (`NLM_F_DUMP_INTR`): its result is inconsistent; dump again.
        case dumpInterrupted
        /// A message could not be decoded.
        case decode(DecodeError)
        /// A reply did not belong to our request (sequence or port id mismatch) or was cut short.
        case protocolViolation(String)
    }

    public var operation: String
    public var kind: Kind

    public init(_ operation: String, _ kind: Kind) {
        self.operation = operation
        self.kind = kind
    }

    public var description: String {
        switch kind {
        case .system(let e): "\(operation): \(e)"
        case .kernel(let e, let message):
            message.map { "\(operation): kernel said \(e): \($0)" } ?? "\(operation): kernel said \(e)"
        case .overrun: "\(operation): receive buffer overrun (ENOBUFS), events were lost"
        case .dumpInterrupted: "\(operation): dump interrupted by a concurrent change (NLM_F_DUMP_INTR)"
        case .decode(let d): "\(operation): \(d)"
        case .protocolViolation(let why): "\(operation): \(why)"
        }
    }
}

/// Runs a system call, retrying on EINTR and turning `-1` into a ``NetlinkError``.
///
/// It gives no meaning to the error: what an errno means (ENOBUFS on a subscription's receive is
/// lost events; on a send it is memory pressure) is decided by the caller.
@inline(__always)
func syscallValue<T: BinaryInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws(NetlinkError) -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let error = Errno.current
        if error == .interrupted { continue }
        throw NetlinkError(operation(), .system(error))
    }
}

/// Runs a decoder, naming `operation` in the error it throws.
@inline(__always)
public func decoding<T>(_ operation: String, _ body: () throws(DecodeError) -> T) throws(NetlinkError) -> T {
    do { return try body() } catch { throw NetlinkError(operation, .decode(error)) }
}
