import Netlink

/// A subscription to link, address, route and rule changes, IPv4 and IPv6 (or, with
/// `groups: [.neighbour]`, to ARP/ND changes on a socket of their own).
public final class RtnetlinkEventSocket: Sendable {
    public let socket: NetlinkSocket

    public static let allGroups: [RtnetlinkGroup] = [
        .link, .ipv4Address, .ipv6Address, .ipv4Route, .ipv6Route, .ipv4Rule, .ipv6Rule,
    ]

    /// Opens the socket, sizes its queue and joins `groups`. Subscribe before dumping, so no
    /// change falls between the dump and the first event.
    public init(receiveBufferBytes: Int, groups: [RtnetlinkGroup] = allGroups, timeoutMilliseconds: Int = 250) throws(NetlinkError) {
        socket = try NetlinkSocket(bus: .route)
        try socket.setReceiveBufferSize(receiveBufferBytes)
        try socket.setReceiveTimeout(milliseconds: timeoutMilliseconds)
        for group in groups { try socket.join(group: group.rawValue) }
    }

    /// Receives one datagram of events. Returns false on timeout; throws `.overrun` when the
    /// kernel dropped events (the caller must re-dump). A message that does not decode is
    /// handed to `onDecodeError` and skipped; the rest of the datagram is still read.
    public func receiveEvents(
        _ body: (RtnetlinkEvent) -> Void,
        onDecodeError: (DecodeError) -> Void
    ) throws(NetlinkError) -> Bool {
        try socket.receive("receive rtnetlink events") { datagram throws(NetlinkError) in
            var messages = MessageIterator(datagram)
            while true {
                let message: NetlinkMessage?
                do throws(DecodeError) { message = try messages.next() } catch {
                    onDecodeError(error)
                    return
                }
                guard let message else { return }
                if message.header.type == NetlinkControl.error {
                    // An asynchronous error on a multicast socket: the kernel reports ENOBUFS
                    // this way on some paths; treat any as lost events.
                    throw NetlinkError("receive rtnetlink events", .overrun)
                }
                do throws(DecodeError) {
                    if let event = try RtnetlinkEvent(message) { body(event) }
                } catch {
                    onDecodeError(error)
                }
            }
        }
    }
}
