import Netlink
import PathwatchCore

/// The per-packet probe as the self-sourced SYN controller sees it: the kernel adapter
/// (``SynProbe``) is the only implementation that needs root; tests use an in-memory one.
protocol SynProbeSource: AnyObject {
    /// Why frontends cannot be named (no ctnetlink socket), if so.
    var conntrackError: (any Error)? { get }
    /// Checks the table is still exactly ours and recreates it if not; reads the rules' counters.
    /// `touched`: someone else changed the table, so the sets are refilled as well.
    func verify(touched: Bool) throws -> SynProbeCheck
    /// Applies `change` to the sets of node-local endpoints (one transaction); `ranges` is what
    /// they hold afterwards, put back whenever the table is recreated.
    func updateEndpoints(_ change: LocalEndpointSetPlanner.Change, to ranges: [AddressRange]) throws
    /// Sleeps until a packet is logged, someone else changes the probe's table, the watcher is
    /// stopped, or `timeout` passes (nil: no limit); hands each logged packet to `body` and says
    /// what else happened. Throws only when the probe is broken and must be dropped.
    func receive(waitingUpTo timeout: Duration?, _ body: (NflogPacket) -> Void) throws -> SynProbeActivity
    /// The node's flows from `address`:`port`, by their original tuple or (masqueraded pods) by
    /// their reply tuple: kernel-filtered conntrack dumps.
    func flows(from address: IPAddress, port: UInt16, protocolNumber: IPProtocolNumber) throws -> [ConntrackFlow]
    /// Deletes the table and releases the log group.
    func remove() throws
}

struct SynProbeCheck: Equatable {
    /// The table was missing or changed and was recreated.
    var reinstalled: Bool
    /// SYNs the TCP rule matched since the last check (its counter).
    var matched: UInt64
    /// Datagrams the UDP rule matched since the last check.
    var matchedUDP: UInt64 = 0
    /// SYNs the reverse-path rule matched (local sources or not).
    var matchedReversePath: UInt64 = 0
}

/// What woke a wait on the probe, besides the packets it handed over.
struct SynProbeActivity: Equatable {
    /// Someone else committed a change to the probe's table, or changes may have been missed
    /// (``notificationsLost``): the table must be checked.
    var tableTouched = false
    /// The nf_tables notification socket overran (ENOBUFS).
    var notificationsLost = false
    /// The log socket overran: logged packets were lost (the rules still counted them).
    var packetsLost = false
    /// Who committed the change, when the kernel said (`nft (pid 4242)`).
    var changedBy: String?
    /// The node model changed: the sets of node-local endpoints may need to follow.
    var modelChanged = false
}

/// The kernel's martian-source counter (`in_martian_src`), as a number.
protocol MartianCounterSource: Sendable {
    func read() throws -> UInt64
}
