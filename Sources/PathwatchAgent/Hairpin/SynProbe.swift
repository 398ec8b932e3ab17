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
    /// Changes to nf_tables: the table is checked when someone else touches it, never on a timer.
    private let changes: NfTablesEventSocket
    private let wake: WakeSignal
    private let conntrack: ConntrackClient?
    /// Why frontends cannot be named (no ctnetlink socket), for the watcher to say so.
    let conntrackError: (any Error)?
    private let group: UInt16
    private let rate: Int
    /// The rules' counters at the last check (TCP, UDP, then the four reverse-path rules).
    private var lastCounters = [UInt64](repeating: 0, count: 6)
    /// What the sets of node-local endpoints hold; put back whenever the table is recreated.
    private var endpointRanges: [AddressRange] = []
    /// Raised by the model on every change: the sets are brought in step.
    private let modelChanges: ChangeNotice?
    /// A logged packet or notification that does not decode is skipped and logged once per kind.
    private var decodeFailures: DecodeFailureLog
    private var changeDecodeFailures: DecodeFailureLog

    /// Binds the log group first (a busy group fails before anything is installed), subscribes
    /// to nf_tables changes (so none made after the install is missed), then installs the table
    /// in one transaction. `wake` ends a wait at once (the watcher's stop).
    init(
        group: UInt16, ratePerSecond: Int, wake: WakeSignal = WakeSignal(), modelChanges: ChangeNotice? = nil,
        logger: Logger = Logger(label: "pathwatch")
    ) throws {
        self.modelChanges = modelChanges
        decodeFailures = DecodeFailureLog(socketName: "nfnetlink_log", logger: logger)
        changeDecodeFailures = DecodeFailureLog(socketName: "nf_tables notifications", logger: logger)
        self.group = group
        self.rate = ratePerSecond
        self.wake = wake
        log = try NflogSocket(group: group, copyRange: SynProbeRule.snapLength)
        // The waits happen in one poll over both sockets; each socket's own receive only takes
        // what is queued.
        log.socket.wakeOnSignal(wake, idleTimeoutMilliseconds: 0)
        do {
            changes = try NfTablesEventSocket()
        } catch {
            log.unbind()
            throw error
        }
        changes.socket.wakeOnSignal(wake, idleTimeoutMilliseconds: 0)
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
    /// same name is never touched: ``SynProbeOwnershipError``. The sets are filled with the
    /// node-local endpoints they held, in the same transaction.
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
        for set in SynProbeRule.localSets { messages.append(.newNfAddressSet(family: family, table: SynProbeRule.table, set: set)) }
        messages += SynProbeRule.setElementMessages(endpointRanges, add: true)
        for rule in SynProbeRule.rules(logGroup: group, ratePerSecond: rate) {
            messages.append(
                .newNfRule(
                    family: family, table: SynProbeRule.table, chain: SynProbeRule.chain, expressions: rule.expressions,
                    comment: rule.comment))
        }
        try tables.commit(messages, "install nftables table inet \(SynProbeRule.table)")
        lastCounters = [UInt64](repeating: 0, count: 6)
    }

    /// Changes the sets of node-local endpoints in one transaction.
    func updateEndpoints(_ change: LocalEndpointSetPlanner.Change, to ranges: [AddressRange]) throws {
        guard !change.isEmpty else { return }
        try tables.commit(SynProbeRule.setChangeMessages(change), "update the node-local endpoint sets of inet \(SynProbeRule.table)")
        endpointRanges = ranges
    }

    /// Checks the table is still exactly the agent's; recreates it if not. Returns whether it
    /// had to, and how many SYNs the rules matched since the last check. After someone else
    /// touched the table (`touched`), the sets are refilled too: the rules do not show a flushed
    /// set or an element someone added.
    func verify(touched: Bool) throws -> SynProbeCheck {
        let rules = try tables.rules(family: SynProbeRule.family, table: SynProbeRule.table, chain: SynProbeRule.chain)
        guard SynProbeRule.isInstalled(rules, logGroup: group, ratePerSecond: rate) else {
            try install()
            return SynProbeCheck(reinstalled: true, matched: 0, matchedUDP: 0)
        }
        if touched {
            try tables.commit(
                SynProbeRule.setRefillMessages(endpointRanges), "refill the node-local endpoint sets of inet \(SynProbeRule.table)")
        }
        let counted = rules.map { $0.counterPackets ?? 0 }
        let matched = zip(counted, lastCounters).map { now, last in now >= last ? now - last : now }
        lastCounters = counted
        return SynProbeCheck(
            reinstalled: false, matched: matched[0], matchedUDP: matched[1], matchedReversePath: matched[2...].reduce(0, +))
    }

    /// The most log datagrams one wake takes before the table's notifications get a turn again.
    static let packetBatch = 64

    /// Waits in one `poll(2)` for a logged packet, a change to nf_tables, or the stop signal.
    /// Notifications are read first, so a burst of packets never delays a reinstall; only
    /// changes to `inet pathwatch` committed by another socket count (the agent's own installs
    /// are not news).
    func receive(waitingUpTo timeout: Duration?, _ body: (NflogPacket) -> Void) throws -> SynProbeActivity {
        var activity = SynProbeActivity()
        let fds = [changes.socket.fileDescriptor, log.socket.fileDescriptor, modelChanges?.fileDescriptor ?? -1]
        guard WakeSignal.poll(fds, wake: wake, timeoutMilliseconds: Self.milliseconds(timeout)) == .readable else { return activity }
        activity.modelChanged = modelChanges?.consume() ?? false
        let own = tables.socket.portID
        do {
            // The generation message closes each transaction and names its process: the one
            // after a change to the table says who made it.
            var attributing = false
            while try changes.receive(
                { change in
                    if change.concerns(family: SynProbeRule.family, table: SynProbeRule.table, otherThan: own) {
                        activity.tableTouched = true
                        attributing = true
                    } else if attributing, change.message == UInt8(truncatingIfNeeded: NfTablesMessageType.newGeneration) {
                        attributing = false
                        activity.changedBy = change.processName.map { "\($0) (pid \(change.processID.map(String.init) ?? "?"))" }
                    }
                }, onDecodeError: { changeDecodeFailures.skipped($0) })
            {}
        } catch {
            guard case .overrun = error.kind else { throw error }
            changes.socket.drain()
            activity.notificationsLost = true
            activity.tableTouched = true
        }
        do {
            for _ in 0..<Self.packetBatch {
                guard try log.receive(body, onDecodeError: { decodeFailures.skipped($0) }) else { break }
            }
        } catch {
            guard case .overrun = error.kind else { throw error }
            activity.packetsLost = true
        }
        return activity
    }

    /// A wait's limit for `poll(2)`: whole milliseconds rounded up, -1 for none.
    static func milliseconds(_ timeout: Duration?) -> Int32 {
        guard let timeout else { return -1 }
        let (seconds, attoseconds) = timeout.components
        guard seconds >= 0, attoseconds >= 0 || seconds > 0 else { return 0 }
        return Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
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
