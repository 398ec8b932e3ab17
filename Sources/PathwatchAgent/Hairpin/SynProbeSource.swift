import Netlink
import PathwatchCore

/// The per-packet probe as the self-sourced SYN controller sees it: the kernel adapter
/// (``SynProbe``) is the only implementation that needs root; tests use an in-memory one.
protocol SynProbeSource: AnyObject {
    /// Why frontends cannot be named (no ctnetlink socket), if so.
    var conntrackError: (any Error)? { get }
    /// Checks the table is still exactly ours and recreates it if not.
    func verify() throws -> SynProbeCheck
    /// Waits a short while for logged packets and hands each to `body`.
    func receive(_ body: (NflogPacket) -> Void) throws(SynProbeReceiveError)
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

enum SynProbeReceiveError: Error {
    /// The log socket overran: packets were lost, the probe is fine.
    case overrun
    /// The probe is broken; it must be dropped.
    case failed(any Error)
}

/// The kernel's martian-source counter (`in_martian_src`), as a number.
protocol MartianCounterSource: Sendable {
    func read() throws -> UInt64
}
