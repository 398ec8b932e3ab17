import Netlink

/// A subscription to nf_tables change notifications (`NFNLGRP_NFTABLES`) of the caller's
/// network namespace: every committed change to any table, chain, rule, set or element.
///
/// Counters counting packets are not changes, so a node whose ruleset stands still sends
/// nothing: a watcher of its own table sleeps until someone touches it, instead of dumping the
/// table on a timer. An overrun (``NetlinkError/Kind/overrun``) means changes were lost; the
/// watcher then checks its table in full.
///
/// Owned by one thread, like the ``NetlinkSocket`` it holds.
public final class NfTablesEventSocket: Sendable {
    public let socket: NetlinkSocket

    /// Firewall managers that rewrite a large ruleset (iptables-nft restore, firewalld reloads)
    /// send one notification per rule; 1 MiB holds several thousand.
    public init(receiveBufferBytes: Int = 1 << 20) throws(NetlinkError) {
        socket = try NetlinkSocket(bus: .netfilter)
        try socket.setReceiveBufferSize(receiveBufferBytes)
        try socket.join(group: NfTablesMessageType.notificationGroup)
    }

    /// The most datagrams one ``receive(_:onDecodeError:)`` drains.
    public static let batchDatagrams = 256
    /// The kernel builds each notification in an skb of at most `NLMSG_GOODSIZE` (a page, 8 KiB
    /// at most): a 16 KiB slot holds any of them whole.
    static let notificationDatagramSize = 16384

    /// Hands every notification queued (up to ``batchDatagrams`` datagrams) to `body`, waiting
    /// as the socket is set up to wait (``NetlinkSocket/wakeOnSignal(_:idleTimeoutMilliseconds:)``).
    /// Returns false when nothing came. Throws ``NetlinkError/Kind/overrun`` when the kernel
    /// dropped notifications. A message that does not decode goes to `onDecodeError`.
    public func receive(
        _ body: (NfTablesNotification) -> Void, onDecodeError: (DecodeError) -> Void = { _ in }
    ) throws(NetlinkError) -> Bool {
        try socket.receiveMessages(
            "receive nf_tables notifications", maxDatagrams: Self.batchDatagrams, datagramSize: Self.notificationDatagramSize,
            decode: { message throws(DecodeError) in try NfTablesNotification(message) }, body, onDecodeError: onDecodeError)
    }
}
