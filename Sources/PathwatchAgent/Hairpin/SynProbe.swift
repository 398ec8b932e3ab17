import Logging
import Netlink
import NetlinkIO
import PathwatchCore

/// The agent's per-packet probe in the kernel: its nftables table `inet pathwatch` (see
/// ``SynProbeRule``) and the nfnetlink_log socket the rule logs to, plus the conntrack lookups
/// that name each SYN's frontend.
///
/// Owned by the self-sourced SYN watcher's thread. It changes nothing but its own table:
/// installing replaces only `inet pathwatch`, removing deletes only it.
final class SynProbe: SynProbeSource {
    private let tables: NfTablesClient
    private let log: NflogSocket
    private let conntrack: ConntrackClient?
    /// Why frontends cannot be named (no ctnetlink socket), for the watcher to say so.
    let conntrackError: (any Error)?
    private let group: UInt16
    private let rate: Int
    /// The rules' counters at the last check (TCP, UDP, reverse path).
    private var lastCounters: [UInt64] = [0, 0, 0]
    /// A logged packet that does not decode is skipped and logged once per kind.
    private var decodeFailures: DecodeFailureLog

    /// Binds the log group first (a busy group fails before anything is installed), then
    /// installs the table in one transaction.
    /// `wake` ends a wait for packets at once (the watcher's stop); without packets a receive
    /// returns after a second, when the rule check is due.
    init(group: UInt16, ratePerSecond: Int, wake: WakeSignal? = nil, logger: Logger = Logger(label: "pathwatch")) throws {
        decodeFailures = DecodeFailureLog(socketName: "nfnetlink_log", logger: logger)
        self.group = group
        self.rate = ratePerSecond
        log = try NflogSocket(group: group, copyRange: SynProbeRule.snapLength)
        if let wake {
            log.socket.wakeOnSignal(wake, idleTimeoutMilliseconds: 1000)
        } else {
            try log.setReceiveTimeout(milliseconds: 1000)
        }
        tables = try NfTablesClient()
        do {
            conntrack = try ConntrackClient(timeoutMilliseconds: 1000)
            conntrackError = nil
        } catch {
            conntrack = nil
            conntrackError = error
        }
        do {
            try install()
        } catch {
            log.unbind()
            throw error
        }
    }

    /// Creates the table, or replaces the agent's own (found by its marker comment, deleted by
    /// handle, so a table someone put there meanwhile makes the transaction fail instead of
    /// being deleted), in one transaction with its chain and rule. Someone else's table of the
    /// same name is never touched: ``SynProbeOwnershipError``.
    func install() throws {
        let family = SynProbeRule.family
        let fresh = NetlinkRequest.newExclusiveNfTable(family: family, name: SynProbeRule.table, comment: SynProbeRule.tableComment)
        var messages: [NetlinkRequest]
        switch SynProbeRule.installPlan(existing: try tables.table(family: family, name: SynProbeRule.table)) {
        case .create: messages = [fresh]
        case .replace(let handle): messages = [.deleteNfTable(family: family, handle: handle), fresh]
        case .refuse(let reason): throw SynProbeOwnershipError(description: reason)
        }
        messages.append(.newNfBaseChain(family: family, table: SynProbeRule.table, name: SynProbeRule.chain, hook: SynProbeRule.hook))
        for rule in SynProbeRule.rules(logGroup: group, ratePerSecond: rate) {
            messages.append(
                .newNfRule(
                    family: family, table: SynProbeRule.table, chain: SynProbeRule.chain, expressions: rule.expressions,
                    comment: rule.comment))
        }
        try tables.commit(messages, "install nftables table inet \(SynProbeRule.table)")
        lastCounters = [0, 0, 0]
    }

    /// Checks the table is still exactly the agent's; recreates it if not. Returns whether it
    /// had to, and how many SYNs the rule matched since the last check.
    func verify() throws -> SynProbeCheck {
        let rules = try tables.rules(family: SynProbeRule.family, table: SynProbeRule.table, chain: SynProbeRule.chain)
        guard SynProbeRule.isInstalled(rules, logGroup: group, ratePerSecond: rate) else {
            try install()
            return SynProbeCheck(reinstalled: true, matched: 0, matchedUDP: 0)
        }
        let counted = rules.map { $0.counterPackets ?? 0 }
        let matched = zip(counted, lastCounters).map { now, last in now >= last ? now - last : now }
        lastCounters = counted
        return SynProbeCheck(reinstalled: false, matched: matched[0], matchedUDP: matched[1], matchedReversePath: matched[2])
    }

    /// Waits up to 250 ms for logged packets and hands each to `body`.
    func receive(_ body: (NflogPacket) -> Void) throws(SynProbeReceiveError) {
        do {
            _ = try log.receive(body, onDecodeError: { decodeFailures.skipped($0) })
        } catch {
            if case .overrun = error.kind { throw .overrun }
            throw .failed(error)
        }
    }

    func flows(from address: IPAddress, port: UInt16, protocolNumber: IPProtocolNumber) throws -> [ConntrackFlow] {
        guard let conntrack else { return [] }
        let direct = try conntrack.flows(from: address, port: port, protocolNumber: protocolNumber)
        let masqueraded = try conntrack.flows(replyingTo: address, port: port, protocolNumber: protocolNumber)
        let known = Set(direct.compactMap(\.id))
        return direct + masqueraded.filter { $0.id.map { !known.contains($0) } ?? true }
    }

    /// Deletes the table (only if it carries the agent's marker) and releases the log group:
    /// the node is left as it was.
    func remove() throws {
        log.unbind()
        let family = SynProbeRule.family
        guard case .replace(let handle) = SynProbeRule.installPlan(existing: try tables.table(family: family, name: SynProbeRule.table))
        else { return }
        do {
            try tables.commit([.deleteNfTable(family: family, handle: handle)], "remove nftables table inet \(SynProbeRule.table)")
        } catch {
            if case .kernel(let errno, _) = error.kind, errno == .noSuchFileOrDirectory { return }
            throw error
        }
    }
}

/// The table `inet pathwatch` exists and is not the agent's: it is left alone.
struct SynProbeOwnershipError: Error, CustomStringConvertible {
    var description: String
}
