import Netlink

/// A subscription to conntrack events (`NFNLGRP_CONNTRACK_NEW`, `_UPDATE`, `_DESTROY`) of the
/// network namespace of the thread that creates it.
///
/// Overruns are reported, never hidden: this socket does not set `NETLINK_NO_ENOBUFS`, and it
/// never sets `NETLINK_BROADCAST_SEND_ERROR` either (with it, ctnetlink delivery becomes
/// "reliable" and the kernel drops *packets* when this consumer is slow). After an
/// ``NetlinkError/Kind/overrun`` the caller re-dumps with ``ConntrackClient/dumpFlows(family:)``.
///
/// Receives block: run them on a dedicated thread, never on Swift concurrency's pool. Owned by
/// one thread at a time.
public final class ConntrackEventSocket: Sendable {
    public let socket: NetlinkSocket
    /// The receive queue size the kernel granted (it reports twice the requested bytes).
    public let receiveBufferSize: Int

    /// - Parameters:
    ///   - groups: the event groups to join; all three by default.
    ///   - receiveBufferBytes: requested with `SO_RCVBUFFORCE` (root), else capped `SO_RCVBUF`.
    ///   - timeoutMilliseconds: how long ``receiveEvents(_:)`` waits before returning false.
    public init(
        groups: [ConntrackGroup] = ConntrackGroup.allEvents,
        receiveBufferBytes: Int = 8 << 20,
        timeoutMilliseconds: Int = 1000
    ) throws(NetlinkError) {
        socket = try NetlinkSocket(bus: .netfilter)
        receiveBufferSize = try socket.setReceiveBufferSize(receiveBufferBytes)
        try socket.setReceiveTimeout(milliseconds: timeoutMilliseconds)
        for group in groups {
            try socket.join(group: group.rawValue)
        }
    }

    /// The most datagrams one ``receiveEvents(_:)`` drains (one event each).
    public static let batchDatagrams = 1024
    /// A conntrack event is a few hundred bytes (tuples, status, protocol state, counters,
    /// timestamps, labels, a security context): a 4 KiB slot holds any of them whole.
    static let eventDatagramSize = 4096

    /// Receives the queued datagrams (up to ``batchDatagrams``) and hands each conntrack event in
    /// them to `body`.
    ///
    /// Returns false when the timeout passed without data. Throws ``NetlinkError/Kind/overrun``
    /// when the kernel dropped events (ENOBUFS). A message that does not decode goes to
    /// `onDecodeError` and is skipped, as on every pathwatch socket; the rest of its datagram is
    /// still read unless its length field cannot be trusted.
    public func receiveEvents(
        _ body: (ConntrackEvent) -> Void, onDecodeError: (DecodeError) -> Void = { _ in }
    ) throws(NetlinkError) -> Bool {
        try socket.receiveMessages(
            "receive conntrack events", maxDatagrams: Self.batchDatagrams, datagramSize: Self.eventDatagramSize,
            decode: { message throws(DecodeError) in try ConntrackEvent(message) }, body, onDecodeError: onDecodeError)
    }
}
