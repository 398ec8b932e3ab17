import Netlink

/// Dumps TCP sockets over `NETLINK_SOCK_DIAG` (what `ss -ti` reads), in the caller's network
/// namespace.
///
/// Rows are handed to the caller one at a time while their bytes are borrowed from the receive
/// buffer, so a dump of 100k sockets never builds an array of them. Owned by one thread at a
/// time, like the ``NetlinkSocket`` it holds.
public final class SockDiagClient: Sendable {
    public let socket: NetlinkSocket

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
        let operation = "dump \(family) TCP sockets (SOCK_DIAG_BY_FAMILY)"
        try socket.request(.dumpTCPSockets(family: family, states: states), operation) { message throws(NetlinkError) in
            guard message.header.type == SockDiag.byFamily else { return }
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

    /// Visits the TCP sockets of both families, IPv4 first.
    public func forEachTCPSocket(
        states: [TCPState] = [.established],
        onDecodeError: (DecodeError) -> Void = { _ in },
        _ body: (TCPSocketRecord) -> Void
    ) throws(NetlinkError) {
        try forEachTCPSocket(family: .inet, states: states, onDecodeError: onDecodeError, body)
        try forEachTCPSocket(family: .inet6, states: states, onDecodeError: onDecodeError, body)
    }
}
