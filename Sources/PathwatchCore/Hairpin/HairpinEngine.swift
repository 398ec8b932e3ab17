import Netlink

/// The pod hairpin, decided: conntrack events and a monotonic clock in, finding updates out.
///
/// Owns the correlator and detector, the evidence of each open finding, the bounded frontend
/// labels and the counters its collector serves. It never touches the registry, a socket or a
/// lock: the caller applies the outcomes (``HairpinEngine/Outcome``) and serialises calls.
public struct HairpinEngine: Sendable {
    public typealias Endpoint = HairpinCorrelator.Endpoint
    public typealias Instant = ContinuousClock.Instant

    public struct Settings: Sendable {
        public var window: Duration
        public var capacity: Int
        public var quiet: Duration
        public var maxFrontendLabels: Int
        public var maxFindings: Int

        public init(window: Duration, capacity: Int, quiet: Duration, maxFrontendLabels: Int, maxFindings: Int) {
            self.window = window
            self.capacity = capacity
            self.quiet = quiet
            self.maxFrontendLabels = maxFrontendLabels
            self.maxFindings = maxFindings
        }
    }

    /// A finding's identity: the frontend as an endpoint, or the overflow finding.
    public enum Key: Hashable, Sendable, CustomStringConvertible {
        case frontend(Endpoint)
        /// Every frontend beyond `maxFindings`.
        case overflow

        public var description: String {
            switch self {
            case .frontend(let endpoint): endpoint.description
            case .overflow: "other"
            }
        }
    }

    /// What the registry must show for one key now.
    public struct Report: Sendable {
        public var key: Key
        public var summary: String
        public var evidence: any FindingDetail
        /// How much the finding's count grows (0 for an outcome that only refreshes it).
        public var occurrences: Int
        /// The hairpin that caused this report, for the log line.
        public var match: HairpinCorrelator.Match?
    }

    public enum Outcome: Sendable {
        case opened(Report)
        case updated(Report)
        case closed(key: Key, flows: Int)
    }

    /// What the collector serves, read at scrape time.
    public struct Statistics: Sendable, Equatable {
        public var flows: [String: UInt64] = [:]
        public var unanswered: [String: UInt64] = [:]
        public var tracked = 0
        public var overflowFlows: UInt64 = 0
        public init() {}
    }

    private struct Open {
        var evidence: HairpinEvidence
        var lastSeen: Instant
        var flows: Int
    }

    public let settings: Settings
    private var detector: HairpinDetector
    private var labels: BoundedLabels
    private var open: [Endpoint: Open] = [:]
    private var overflow: (evidence: HairpinOverflowEvidence, lastSeen: Instant, flows: Int)?
    /// Client endpoints already counted: the probe logs every retransmitted SYN of a hairpin
    /// that conntrack also reports once, and the same socket is one hairpinned connection.
    private var counted: [SourceKey: Instant] = [:]
    static let sameConnection = Duration.seconds(30)

    private struct SourceKey: Hashable {
        var source: Endpoint
        var frontend: Endpoint
    }
    public private(set) var statistics = Statistics()

    public init(settings: Settings) {
        self.settings = settings
        detector = HairpinDetector(window: settings.window, capacity: settings.capacity)
        labels = BoundedLabels(limit: settings.maxFrontendLabels)
    }

    /// The events of one batch; `isLocal` answers from a copy of the model taken before.
    public mutating func observe(_ events: [ConntrackEvent], at now: Instant, isLocal: (IPAddress) -> Bool) -> [Outcome] {
        var outcomes: [Outcome] = []
        for event in events {
            guard let match = detector.observe(event, at: now, isLocal: isLocal) else { continue }
            if let outcome = apply(match, at: now) { outcomes.append(outcome) }
        }
        statistics.tracked = detector.trackedCount
        return outcomes
    }

    /// A hairpin with evidence of harm: counted as hairpinned and as unanswered (its flow back
    /// never became ASSURED, or its frontend never answered).
    /// A hairpin the probe saw die in the kernel before conntrack could (a SYN dropped by the
    /// reverse-path filter); `origin` says how, for the evidence.
    public mutating func observedDrop(_ match: HairpinCorrelator.Match, origin: String, at now: Instant) -> Outcome? {
        apply(match, at: now, origin: origin)
    }

    private mutating func apply(_ match: HairpinCorrelator.Match, at now: Instant, origin: String? = nil) -> Outcome? {
        let frontend = match.frontend
        let key = SourceKey(source: match.source, frontend: frontend)
        if let last = counted[key], now - last < Self.sameConnection {
            counted[key] = now
            guard var entry = open[frontend] else { return nil }
            entry.lastSeen = now
            if let origin { entry.evidence.note(origin: origin) }
            open[frontend] = entry
            return .updated(report(frontend, entry, occurrences: 0, match: nil))
        }
        if counted.count >= settings.capacity { counted = counted.filter { now - $0.value < Self.sameConnection } }
        if counted.count >= settings.capacity { counted.removeAll(keepingCapacity: true) }
        counted[key] = now
        let label = labels.label(for: frontend.description)
        statistics.flows[label, default: 0] += 1
        statistics.unanswered[label, default: 0] += 1
        if var entry = open[frontend] {
            entry.evidence.add(match)
            entry.evidence.addOutcome(assured: false)
            if let origin { entry.evidence.note(origin: origin) }
            entry.lastSeen = now
            entry.flows += 1
            open[frontend] = entry
            return .updated(report(frontend, entry, occurrences: 1, match: match))
        }
        if open.count >= settings.maxFindings { return overflowed(match, at: now) }
        var evidence = HairpinEvidence(frontend: frontend)
        evidence.add(match)
        evidence.addOutcome(assured: false)
        if let origin { evidence.note(origin: origin) }
        let entry = Open(evidence: evidence, lastSeen: now, flows: 1)
        open[frontend] = entry
        return .opened(report(frontend, entry, occurrences: 1, match: match))
    }

    private mutating func overflowed(_ match: HairpinCorrelator.Match, at now: Instant) -> Outcome {
        statistics.overflowFlows += 1
        let isNew = overflow == nil
        var entry = overflow ?? (HairpinOverflowEvidence(limit: settings.maxFindings), now, 0)
        entry.evidence.add(frontend: match.frontend.description)
        entry.lastSeen = now
        entry.flows += 1
        overflow = entry
        let report = Report(key: .overflow, summary: entry.evidence.summary, evidence: entry.evidence, occurrences: 1, match: match)
        return isNew ? .opened(report) : .updated(report)
    }

    private func report(_ frontend: Endpoint, _ entry: Open, occurrences: Int, match: HairpinCorrelator.Match?) -> Report {
        Report(key: .frontend(frontend), summary: entry.evidence.summary, evidence: entry.evidence, occurrences: occurrences, match: match)
    }

    /// Forgets stale flows, reports pairs that stayed unanswered (see ``HairpinDetector``), and
    /// closes findings quiet for `settings.quiet`, giving back their label slots (their series
    /// go with them).
    public mutating func expire(at now: Instant) -> [Outcome] {
        var closed: [Outcome] = detector.expire(at: now).compactMap { apply($0, at: now) }
        statistics.tracked = detector.trackedCount
        for (frontend, entry) in open where now - entry.lastSeen > settings.quiet {
            open.removeValue(forKey: frontend)
            let label = frontend.description
            if labels.release(label) {
                statistics.flows.removeValue(forKey: label)
                statistics.unanswered.removeValue(forKey: label)
            }
            closed.append(.closed(key: .frontend(frontend), flows: entry.flows))
        }
        if let entry = overflow, now - entry.lastSeen > settings.quiet {
            overflow = nil
            closed.append(.closed(key: .overflow, flows: entry.flows))
        }
        return closed
    }

    public var openFindings: Int { open.count + (overflow == nil ? 0 : 1) }

    /// Nothing remembered and no finding open: ``expire(at:)`` has nothing to do until the next
    /// event, so the watcher need not wake for it.
    public var isIdle: Bool { detector.trackedCount == 0 && openFindings == 0 }
}
