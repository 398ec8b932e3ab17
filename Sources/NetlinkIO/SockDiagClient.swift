import Netlink
import Synchronization

/// Dumps TCP sockets over `NETLINK_SOCK_DIAG` (what `ss -ti` reads), in the caller's network
/// namespace.
///
/// Rows are handed to the caller one at a time while their bytes are borrowed from the receive
/// buffer, so a dump of 100k sockets never builds an array of them. Owned by one thread at a
/// time, like the ``NetlinkSocket`` it holds.
public final class SockDiagClient: Sendable {
    public let socket: NetlinkSocket
    /// Set once the kernel refused `TCPDIAG_GETSOCK`: two dumps from then on.
    private let compatRefused = Atomic<Bool>(false)

    /// Opens a `NETLINK_SOCK_DIAG` socket. `timeoutMilliseconds` bounds each wait for a reply.
    public init(timeoutMilliseconds: Int = 5000) throws(NetlinkError) {
        socket = try NetlinkSocket(bus: .sockDiag)
        try socket.setReceiveTimeout(milliseconds: timeoutMilliseconds)
    }

    /// Visits every TCP socket of `family` in `states` with its `tcp_info`.
    ///
    /// A row that does not decode is passed to `onDecodeError` and skipped; the dump goes on.
    public func forEachTCPSocket(
        family: AddressFamily,
        states: [TCPState] = [.established],
        onDecodeError: (DecodeError) -> Void = { _ in },
        _ body: (TCPSocketRecord) -> Void
    ) throws(NetlinkError) {
        try visit(.dumpTCPSockets(family: family, states: states), "dump \(family) TCP sockets (SOCK_DIAG_BY_FAMILY)", onDecodeError, body)
    }

    /// Visits the TCP sockets of both families, in one walk of the kernel's socket hash
    /// (``NetlinkRequest/dumpTCPSocketsOfEveryFamily(states:)``); on a kernel that refuses the
    /// original request (`EOPNOTSUPP`, `EINVAL`), in two dumps, IPv4 first.
    public func forEachTCPSocket(
        states: [TCPState] = [.established],
        onDecodeError: (DecodeError) -> Void = { _ in },
        _ body: (TCPSocketRecord) -> Void
    ) throws(NetlinkError) {
        if !compatRefused.load(ordering: .relaxed) {
            do {
                try visit(.dumpTCPSocketsOfEveryFamily(states: states), "dump TCP sockets (TCPDIAG_GETSOCK)", onDecodeError, body)
                return
            } catch {
                guard case .kernel(let code, _) = error.kind, code == .notSupported || code == .invalidArgument else { throw error }
                compatRefused.store(true, ordering: .relaxed)
            }
        }
        try forEachTCPSocket(family: .inet, states: states, onDecodeError: onDecodeError, body)
        try forEachTCPSocket(family: .inet6, states: states, onDecodeError: onDecodeError, body)
    }

    private func visit(
        _ request: NetlinkRequest, _ operation: String, _ onDecodeError: (DecodeError) -> Void, _ body: (TCPSocketRecord) -> Void
    ) throws(NetlinkError) {
        try socket.request(request, operation) { message throws(NetlinkError) in
            guard message.header.type == SockDiag.byFamily || message.header.type == SockDiag.tcpGetSocket else { return }
            let record: TCPSocketRecord
            do throws(DecodeError) {
                record = try TCPSocketRecord(payload: message.payload)
            } catch {
                onDecodeError(error)
                return
            }
            body(record)
        }
    }
}
