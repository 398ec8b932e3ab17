import Netlink

/// Dropped self-sourced SYNs (the instance hairpin), decided: logged SYNs from the probe and
/// rises of the martian-source counter in, finding updates out, windows on a monotonic clock.
///
/// Pure: the caller owns the probe and the counter, applies the outcomes to the registry and
/// serialises calls.
public struct SelfSourcedSynEngine: Sendable {
    public typealias Endpoint = HairpinCorrelator.Endpoint
    public typealias Instant = ContinuousClock.Instant

    /// A finding's identity.
    public enum Key: Hashable, Sendable, CustomStringConvertible {
        case frontend(Endpoint)
        /// SYNs whose outbound flow conntrack did not hold.
        case unknownFrontend
        /// The counter fallback: one finding for the node.
        case martianCounter
        /// Every frontend beyond `maxFindings`.
        case overflow
        /// The reverse-path counter fallback: one `hairpin` finding for the node, frontend unknown.
        case reversePathCounter

        public var description: String {
            switch self {
            case .frontend(let endpoint): endpoint.description
            case .unknownFrontend: "unknown"
            case .martianCounter: "martian-source-counter"
            case .overflow: "other"
            case .reversePathCounter: "reverse-path-counter"
            }
        }
    }

    public struct Report: Sendable {
        public var key: Key
        public var summary: String
        public var evidence: any FindingDetail
        public var occurrences: Int
        public var syn: SelfSourcedSyn?
    }

    public enum Outcome: Sendable {
        case opened(Report)
        case updated(Report)
        case closed(key: Key, count: Int)
    }

    private struct Open {
        var evidence: SelfSourcedSynEvidence
        var lastSeen: Instant
        var count: Int
    }

    public let quiet: Duration
    public let maxFindings: Int
    /// Named in the probe's evidence (`detection`).
    public let probeDetection: String
    private var open: [Key: Open] = [:]
    private var counter: (lastSeen: Instant, count: Int)?
    private var overflow: (evidence: SelfSourcedSynOverflowEvidence, lastSeen: Instant, count: Int)?
    private var reversePath: (evidence: ReversePathCounterEvidence, lastSeen: Instant, count: Int)?
    /// SYNs that went into the overflow finding.
    public private(set) var overflowSyns: UInt64 = 0

    public init(quiet: Duration, maxFindings: Int, probeLogGroup: Int) {
        self.quiet = quiet
        self.maxFindings = max(1, maxFindings)
        probeDetection =
            "probe: nftables table inet \(SynProbeRule.table) logs to nfnetlink_log group \(probeLogGroup); frontend from conntrack"
    }

    /// One SYN the probe logged.
    public mutating func logged(_ syn: SelfSourcedSyn, at now: Instant) -> Outcome {
        let key: Key = syn.frontend.map { .frontend($0) } ?? .unknownFrontend
        if var entry = open[key] {
            entry.evidence.add(syn)
            entry.lastSeen = now
            entry.count += 1
            open[key] = entry
            return .updated(Report(key: key, summary: entry.evidence.summary, evidence: entry.evidence, occurrences: 1, syn: syn))
        }
        guard open.count < maxFindings else { return overflowed(key, at: now, syn: syn) }
        var evidence = SelfSourcedSynEvidence(frontend: syn.frontend, detection: probeDetection)
        evidence.add(syn)
        open[key] = Open(evidence: evidence, lastSeen: now, count: 1)
        return .opened(Report(key: key, summary: evidence.summary, evidence: evidence, occurrences: 1, syn: syn))
    }

    private mutating func overflowed(_ key: Key, at now: Instant, syn: SelfSourcedSyn) -> Outcome {
        overflowSyns += 1
        let isNew = overflow == nil
        var entry = overflow ?? (SelfSourcedSynOverflowEvidence(limit: maxFindings), now, 0)
        entry.evidence.add(frontend: key.description)
        entry.lastSeen = now
        entry.count += 1
        overflow = entry
        let report = Report(key: .overflow, summary: entry.evidence.summary, evidence: entry.evidence, occurrences: 1, syn: syn)
        return isNew ? .opened(report) : .updated(report)
    }

    /// A rise of `in_martian_src` while the counter is the detector (the probe is off).
    public mutating func counterRose(by increase: UInt64, at now: Instant) -> Outcome? {
        guard increase > 0 else { return nil }
        let evidence = MartianCounterEvidence(increase: increase)
        let isNew = counter == nil
        counter = (now, (counter?.count ?? 0) + Int(clamping: increase))
        let report = Report(
            key: .martianCounter, summary: evidence.summary, evidence: evidence, occurrences: Int(clamping: increase), syn: nil)
        return isNew ? .opened(report) : .updated(report)
    }

    /// A rise of `TcpExtIPReversePathFilter` while the probe is not the detector, with the
    /// connections from node-local endpoints that are unanswered now. Both are needed: the
    /// counter alone also counts spoofing, an unanswered flow alone is a dead peer.
    public mutating func reversePathCounterRose(by increase: UInt64, unanswered flows: [String], at now: Instant) -> Outcome? {
        guard increase > 0, !flows.isEmpty else { return nil }
        let isNew = reversePath == nil
        var entry = reversePath ?? (ReversePathCounterEvidence(), now, 0)
        entry.evidence.add(drops: increase, flows: flows)
        entry.lastSeen = now
        entry.count += Int(clamping: increase)
        reversePath = entry
        let report = Report(
            key: .reversePathCounter, summary: entry.evidence.summary, evidence: entry.evidence, occurrences: Int(clamping: increase),
            syn: nil)
        return isNew ? .opened(report) : .updated(report)
    }

    /// Closes findings quiet for `quiet`.
    public mutating func expire(at now: Instant) -> [Outcome] {
        var closed: [Outcome] = []
        for (key, entry) in open where now - entry.lastSeen > quiet {
            open.removeValue(forKey: key)
            closed.append(.closed(key: key, count: entry.count))
        }
        if let entry = counter, now - entry.lastSeen > quiet {
            counter = nil
            closed.append(.closed(key: .martianCounter, count: entry.count))
        }
        if let entry = overflow, now - entry.lastSeen > quiet {
            overflow = nil
            closed.append(.closed(key: .overflow, count: entry.count))
        }
        if let entry = reversePath, now - entry.lastSeen > quiet {
            reversePath = nil
            closed.append(.closed(key: .reversePathCounter, count: entry.count))
        }
        return closed
    }

    /// When the next finding falls quiet (``expire(at:)`` closes it from then on); nil when
    /// none is open, so a caller with nothing else to do can sleep until something happens.
    public var nextExpiry: Instant? {
        let seen = open.values.map(\.lastSeen) + [counter?.lastSeen, overflow?.lastSeen, reversePath?.lastSeen].compactMap { $0 }
        return seen.min().map { $0 + quiet + .nanoseconds(1) }
    }

    public var openFindings: Int {
        open.count + (counter == nil ? 0 : 1) + (overflow == nil ? 0 : 1) + (reversePath == nil ? 0 : 1)
    }
}
