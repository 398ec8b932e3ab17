import Netlink

/// A socket bound to one nfnetlink_log group: receives the packets that nftables `log group N`
/// rules send there.
///
/// Owned by its watcher thread. Binding fails with `EPERM` when another socket (ulogd, a
/// second agent) holds the group in this network namespace.
public final class NflogSocket: Sendable {
    public let socket: NetlinkSocket
    public let group: UInt16

    /// Binds `group`, copying at most `copyRange` bytes of each packet: headers are all the
    /// agent reads, so a small range keeps the kernel's copies and this socket's queue small.
    public init(group: UInt16, copyRange: UInt32 = 128, receiveBufferBytes: Int = 1 << 20) throws(NetlinkError) {
        socket = try NetlinkSocket(bus: .netfilter)
        self.group = group
        try socket.setReceiveTimeout(milliseconds: 2000)
        try socket.setReceiveBufferSize(receiveBufferBytes)
        try socket.request(.nflogBind(group: group, copyRange: copyRange), "bind nfnetlink_log group \(group)") { _ throws(NetlinkError) in
        }
    }

    /// Makes ``receive(_:)`` return after `milliseconds` without packets.
    public func setReceiveTimeout(milliseconds: Int) throws(NetlinkError) {
        try socket.setReceiveTimeout(milliseconds: milliseconds)
    }

    /// Receives one datagram and hands every logged packet in it to `body`. Returns false on
    /// timeout; throws `.overrun` when the kernel dropped packets for this socket (they were
    /// only log copies: nothing to re-dump, but they are counted). A message that does not decode
    /// goes to `onDecodeError` and is skipped, as on every pathwatch socket.
    public func receive(
        _ body: (NflogPacket) -> Void, onDecodeError: (DecodeError) -> Void = { _ in }
    ) throws(NetlinkError) -> Bool {
        let operation = "receive nfnetlink_log group \(group)"
        return try socket.receive(operation) { datagram in
            var iterator = MessageIterator(datagram)
            while true {
                let message: NetlinkMessage?
                do throws(DecodeError) {
                    message = try iterator.next()
                } catch {
                    onDecodeError(error)
                    return
                }
                guard let message else { return }
                do throws(DecodeError) {
                    if let packet = try NflogPacket(message) { body(packet) }
                } catch {
                    onDecodeError(error)
                }
            }
        }
    }

    /// Releases the group; closing the socket would too, this makes it immediate and explicit.
    public func unbind() {
        try? socket.request(.nflogUnbind(group: group), "unbind nfnetlink_log group \(group)") { _ throws(NetlinkError) in }
    }
}
