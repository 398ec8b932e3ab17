import FoundationEssentials
import Logging
import Netlink
import PathwatchCore

/// The self-sourced SYN slice's decisions, over its two sources: when to (re)install the probe
/// and when to fall back to the martian-source counter, what a logged SYN's frontend is, and
/// what the engine's outcomes do to the findings and the log.
///
/// Driven by one thread (the watcher's) and by an injected clock, so every decision has a unit
/// test with in-memory sources; the kernel adapters are ``SynProbe`` and ``MartianCounterFile``.
/// Nothing here runs on a timer while the probe is installed and nothing happens: the watcher
/// sleeps for as long as ``nextDue(after:)`` allows.
final class SelfSourcedSynController {
    typealias Instant = ContinuousClock.Instant
    typealias Endpoint = HairpinCorrelator.Endpoint

    struct Sources {
        /// Installs the probe; nil keeps the node untouched (probe off, or doctor).
        var installProbe: (() throws -> any SynProbeSource)?
        var martian: any MartianCounterSource
        /// Names an input interface by index (from the model).
        var interfaceName: (UInt32) -> String?
        /// The node-local endpoints, copied out of the model.
        var localEndpoints: () -> LocalEndpoints
        /// Whether the model's first full rtnetlink dump is in. Before it, addresses can be
        /// read without the routes that say which links are uplinks, and an uplink's subnet
        /// would enter the sets as local until the narrowing delay passed.
        var modelReady: () -> Bool = { true }
        /// Where a pod hairpin seen by the reverse-path rule goes (the hairpin slice).
        var podHairpin: ((HairpinCorrelator.Match, _ origin: String) -> Void)? = nil
        /// `TcpExtIPReversePathFilter` of the agent's network namespace (counter mode).
        var reversePathCounter: () throws -> UInt64 = { throw CounterUnavailable() }
        /// Unanswered conntrack flows (counter mode, when the reverse-path counter rose).
        var unansweredFlows: () throws -> [ConntrackFlow] = { [] }
        /// The effective IPv4 `rp_filter` of an interface, for the evidence.
        var rpFilter: (String) -> Int? = ReversePathFilterSysctl.read
    }

    /// The probe is retried this long after it could not be installed, and after it failed.
    static let installRetry = Duration.seconds(30)
    static let failureRetry = Duration.seconds(5)

    let sources: Sources
    let slice: SelfSourcedSynSlice
    private let findings: FindingsRegistry
    let logger: Logger
    private let wallClock: () -> Date
    private let table = "inet \(SynProbeRule.table)"
    let logGroup: Int
    private(set) var probe: (any SynProbeSource)?
    private var nextAttempt: Instant?
    private var lastTick: Instant?
    /// Someone else changed the probe's table (or changes were lost): check it now.
    private var tableCheckDue = false
    /// When the rules' counters are next read (after they logged); nil while they are quiet.
    private var countersDue: Instant?
    /// Who made the last change to the table, for the reinstall's log line.
    private var changedBy: String?
    /// The probe's sets of node-local endpoints, planned from the model.
    var endpointSets = LocalEndpointSetPlanner()
    /// When the sets are next brought in step with the model (at once after a change).
    var endpointsDue: Instant?
    private var warned = false
    var lastMartian: UInt64?
    var martianReadable = true
    /// `TcpExtIPReversePathFilter` at the last read (counter mode).
    var lastReversePath: UInt64?
    var lookups = FrontendLookups()
    /// Probe packets waiting for conntrack to say whether their flow was confirmed.
    var confirmations = ReversePathConfirmations()
    /// Pods whose flows were masqueraded to a source endpoint, found with its frontend.
    var clients: [Endpoint: IPAddress] = [:]

    init(
        sources: Sources, slice: SelfSourcedSynSlice, logGroup: Int, findings: FindingsRegistry, logger: Logger,
        wallClock: @escaping () -> Date = { Date() }
    ) {
        self.sources = sources
        self.slice = slice
        self.logGroup = logGroup
        self.findings = findings
        self.logger = logger
        self.wallClock = wallClock
        slice.update { _, s in s.mode = .counter }
    }

    /// Installs the probe when it is wanted, missing and due.
    func installIfDue(at now: Instant) {
        guard let install = sources.installProbe, probe == nil, nextAttempt.map({ now >= $0 }) ?? true else { return }
        do {
            let installed = try install()
            probe = installed
            warned = false
            endpointSets = LocalEndpointSetPlanner()
            endpointsDue = now
            slice.update { _, s in s.mode = .probe }
            logger.notice("self-sourced SYN probe installed", metadata: ["table": "\(table)", "group": "\(logGroup)"])
            if let error = installed.conntrackError {
                logger.warning(
                    "no ctnetlink socket: self-sourced SYNs are detected but their frontend cannot be named",
                    metadata: ["error": "\(error)"])
            }
        } catch {
            nextAttempt = now + Self.installRetry
            if !warned {
                warned = true
                logger.warning(
                    "cannot install the self-sourced SYN probe; using the in_martian_src counter (no frontend names); retrying every 30 s",
                    metadata: ["error": "\(error)", "group": "\(logGroup)"])
            }
        }
    }

    /// How long the watcher may sleep before ``tick(at:)`` has work; nil: until the kernel has
    /// something to say. A quiet node with the probe installed sleeps without limit: the rules'
    /// counters are read after they log, the table is checked when someone changes it, a
    /// finding's quiet period ends at a known time, and a probe packet held for conntrack's
    /// confirmation falls due 400 ms after it arrived (nothing held, no deadline).
    func nextDue(after now: Instant) -> Duration? {
        if tableCheckDue { return .zero }
        var due = countersDue
        if let endpoints = endpointsDue ?? endpointSets.nextNarrowing { due = earlier(due, endpoints) }
        // Counter mode reads the counter (and retries the probe) every second.
        if probe == nil { due = earlier(due, (lastTick ?? now) + .seconds(1)) }
        if let expiry = slice.update({ engine, _ in engine.nextExpiry }) { due = earlier(due, expiry) }
        if let confirmation = confirmations.nextDue { due = earlier(due, confirmation) }
        return due.map { $0 > now ? $0 - now : .zero }
    }

    private func earlier(_ a: Instant?, _ b: Instant) -> Instant { a.map { min($0, b) } ?? b }

    /// Waits up to `timeout` for logged packets and changes to the probe's table; false when
    /// there is no probe (the caller pauses instead).
    func receive(waitingUpTo timeout: Duration?, at now: @autoclosure () -> Instant) -> Bool {
        guard let active = probe else { return false }
        var logged = false
        do {
            let activity = try active.receive(waitingUpTo: timeout) { packet in
                logged = true
                handle(packet, probe: active, at: now())
            }
            if logged || activity.packetsLost, countersDue == nil { countersDue = now() + Self.counterDelay }
            if activity.modelChanged { endpointsDue = now() }
            if activity.tableTouched {
                tableCheckDue = true
                changedBy = activity.changedBy ?? changedBy
            }
            if activity.packetsLost || activity.notificationsLost {
                slice.update { _, s in
                    if activity.packetsLost { s.probeLost += 1 }
                    if activity.notificationsLost { s.probeNotificationsLost += 1 }
                }
            }
        } catch {
            drop(active, error, at: now())
        }
        return true
    }

    /// The rules' counters are read this long after they log (and not more often while they
    /// keep logging): the drops beyond the log rate limit are counted within a second.
    static let counterDelay = Duration.seconds(1)

    /// Does what is due: checks the probe's table after someone touched it, reads the rules'
    /// counters after they logged; in counter mode reads the counter and retries the probe every
    /// second; closes quiet findings; sets the mode.
    func tick(at now: Instant) {
        if let active = probe, tableCheckDue || countersDue.map({ now >= $0 }) ?? false {
            let touched = tableCheckDue
            tableCheckDue = false
            countersDue = nil
            check(active, touched: touched, at: now)
        }
        if let active = probe, let due = endpointsDue ?? endpointSets.nextNarrowing, now >= due { syncEndpoints(active, at: now) }
        confirmDue(at: now)
        let periodic = lastTick.map { now - $0 >= .seconds(1) } ?? true
        guard periodic || slice.update({ engine, _ in engine.nextExpiry.map { now >= $0 } ?? false }) else { return }
        lastTick = now
        if probe == nil {
            pollCounter(at: now)
            pollReversePathCounter(at: now)
        } else {
            lastMartian = nil  // counter mode starts from fresh readings
            lastReversePath = nil
        }
        let mode: SelfSourcedSynMode = probe != nil ? .probe : martianReadable ? .counter : .none
        let closed = slice.update { engine, s in
            s.mode = mode
            return engine.expire(at: now)
        }
        apply(closed)
    }

    private func check(_ active: any SynProbeSource, touched: Bool, at now: Instant) {
        do {
            let check = try active.verify(touched: touched)
            slice.update { _, s in
                s.probeChecks += 1
                s.drops += check.matched
                s.udpDrops += check.matchedUDP
                s.reversePathSyns += check.matchedReversePath
                if check.reinstalled { s.probeReinstalls += 1 }
            }
            if check.reinstalled {
                logger.warning(
                    "the self-sourced SYN probe's nftables table was flushed, deleted or changed by someone else; recreated it",
                    metadata: ["table": "\(table)", "changed_by": "\(changedBy ?? "unknown")"])
            }
            changedBy = nil
        } catch {
            drop(active, error, at: now)
        }
    }

    /// Deletes the probe's table: the node is left as it was.
    func shutdown() {
        guard let active = probe else { return }
        probe = nil
        do {
            try active.remove()
            logger.notice("self-sourced SYN probe removed", metadata: ["table": "\(table)"])
        } catch {
            logger.error("cannot remove the self-sourced SYN probe's nftables table", metadata: ["error": "\(error)"])
        }
    }

    func drop(_ active: any SynProbeSource, _ error: any Error, at now: Instant) {
        logger.warning("self-sourced SYN probe failed; using the in_martian_src counter until it is back", metadata: ["error": "\(error)"])
        try? active.remove()
        probe = nil
        nextAttempt = now + Self.failureRetry
    }

    func apply(_ outcomes: [SelfSourcedSynEngine.Outcome]) {
        guard !outcomes.isEmpty else { return }
        let time = wallClock()
        for outcome in outcomes {
            switch outcome {
            case .opened(var report), .updated(var report):
                if let resolver = slice.podNames, var evidence = report.evidence as? SelfSourcedSynEvidence {
                    evidence.namePods(resolver)
                    report.evidence = evidence
                    report.summary = evidence.summary
                }
                let opened = findings.report(
                    kind: report.key == .reversePathCounter ? .hairpin : .selfSourcedSynDrop, key: report.key.description,
                    summary: report.summary, evidence: report.evidence,
                    remediation: HairpinRemediation.clientAddressPreserved, at: time, occurrences: report.occurrences)
                guard opened else { continue }
                if let syn = report.syn {
                    logger.warning(
                        "self-sourced SYN drop: the node's own connection comes back to it",
                        metadata: [
                            "frontend": "\(report.key)", "source": "\(syn.source)", "target": "\(syn.target)",
                            "interface": "\(syn.interface ?? "?")", "senderMAC": "\(syn.senderMAC ?? "?")",
                        ])
                } else if report.key == .reversePathCounter {
                    logger.warning(
                        "connections from node-local endpoints go unanswered while the reverse-path filter drops packets (counter fallback; frontend unknown)",
                        metadata: ["increase": "\(report.occurrences)"])
                } else {
                    logger.warning("self-sourced SYNs (martian sources) are being dropped", metadata: ["increase": "\(report.occurrences)"])
                }
            case .closed(let key, let count):
                findings.clear(kind: key == .reversePathCounter ? .hairpin : .selfSourcedSynDrop, key: key.description)
                logger.notice(
                    "self-sourced SYN drop finding closed after a quiet period", metadata: ["frontend": "\(key)", "count": "\(count)"])
            }
        }
    }
}
