import Netlink

/// The path slice's engine: one round reads a ``PathSampleSource``, turns the sockets into
/// per-class and per-peer deltas, judges the window and says which findings open, stay or
/// clear. Pure apart from the source; time comes from the caller's monotonic clock.
public struct PathHealthEngine: Sendable {
    public struct Settings: Sendable, Equatable {
        public var aggregator = PathAggregator.Settings()
        public var detector = PathDegradationDetector.Settings()
        /// `peer_path_degraded` findings open at once, the worst peers first.
        public var maxPeerFindings = 5
        public init() {}
    }

    /// What a round saw, for metrics and logs.
    public struct Round: Sendable {
        public var assessment: PathDegradationDetector.Assessment
        public var outcomes: [PathOutcome]
        public var sockets: Int
        public var untrackedSockets: Int
        public var decodeErrors: Int
    }

    /// The engine's state as the metrics read it at scrape time.
    public struct Snapshot: Sendable {
        public var assessment: PathDegradationDetector.Assessment?
        /// Bytes sent, retransmitted and received per class since start-up.
        public var totals: [PathClass: Totals] = [:]
        public var kernel = KernelTCPCounters()
        public var nic: [NICAllowanceReading] = []
        public var sockets = 0
        public var untrackedSockets = 0
        public init() {}
    }

    public struct Totals: Sendable, Hashable {
        public var bytesSent: UInt64 = 0
        public var bytesRetransmitted: UInt64 = 0
        public var bytesReceived: UInt64 = 0
        public init() {}
    }

    public let settings: Settings
    private var aggregator: PathAggregator
    private var detector: PathDegradationDetector
    private var kernelHistory: [(time: ContinuousClock.Instant, counters: KernelTCPCounters)] = []
    private var open: Set<FindingID> = []
    public private(set) var snapshot = Snapshot()

    private struct FindingID: Hashable {
        var kind: FindingKind
        var key: String
    }

    public init(settings: Settings = Settings()) {
        self.settings = settings
        aggregator = PathAggregator(settings: settings.aggregator)
        detector = PathDegradationDetector(settings: settings.detector)
    }

    /// Forgets the sockets' counters, so the next round is a baseline again (a new sock_diag
    /// session after a failed dump), keeping the windows, the open findings and the totals.
    public mutating func restartBaseline() {
        aggregator = PathAggregator(settings: settings.aggregator)
    }

    /// One sampling round at `now`. Throws what the source's dump throws; the engine's state
    /// is then as before the round, except that the next round's deltas span both.
    public mutating func round(from source: inout some PathSampleSource, at now: ContinuousClock.Instant) throws -> Round {
        var sockets = 0
        aggregator.begin()
        let decodeErrors = try source.forEachSocket { record in
            sockets += 1
            aggregator.add(record)
        }
        let sample = aggregator.finish(at: now)
        let kernel = source.kernelCounters()
        kernelHistory.append((now, kernel))
        let span = Duration.seconds(settings.detector.windowSeconds)
        kernelHistory.removeAll { now - $0.time > span }
        let nic = source.nicAllowances()
        let assessment = detector.ingest(sample)
        for path in PathClass.allCases {
            let c = sample[path]
            snapshot.totals[path, default: Totals()].bytesSent &+= c.bytesSent
            snapshot.totals[path, default: Totals()].bytesRetransmitted &+= c.bytesRetransmitted
            snapshot.totals[path, default: Totals()].bytesReceived &+= c.bytesReceived
        }
        snapshot.assessment = assessment
        snapshot.kernel = kernel
        snapshot.nic = nic
        snapshot.sockets = sockets
        snapshot.untrackedSockets = sample.untrackedSockets
        return Round(
            assessment: assessment, outcomes: outcomes(assessment, nic: nic), sockets: sockets,
            untrackedSockets: sample.untrackedSockets, decodeErrors: decodeErrors)
    }

    /// Findings to report this round, and those open before that are no longer current.
    private mutating func outcomes(_ assessment: PathDegradationDetector.Assessment, nic: [NICAllowanceReading]) -> [PathOutcome] {
        var result: [PathOutcome] = []
        var current: Set<FindingID> = []
        if let finding = PathFinding(assessment, nic: nic, kernelDeltas: kernelDeltas, thresholds: settings.detector) {
            let id = FindingID(kind: finding.kind, key: finding.key)
            current.insert(id)
            result.append(.path(finding, opened: !open.contains(id)))
        }
        // A degraded class's own peers are in its path finding already.
        let peers = assessment.raisedPeers.filter { !assessment[$0.path].raised }.prefix(settings.maxPeerFindings)
        for peer in peers {
            let finding = PeerFinding(peer, in: assessment, thresholds: settings.detector)
            let id = FindingID(kind: PeerFinding.kind, key: finding.key)
            current.insert(id)
            result.append(.peer(finding, opened: !open.contains(id)))
        }
        for id in open.subtracting(current).sorted(by: { ($0.kind.rawValue, $0.key) < ($1.kind.rawValue, $1.key) }) {
            result.append(.cleared(id.kind, key: id.key))
        }
        open = current
        return result
    }

    /// Growth of each kernel counter between the oldest and newest reading in the window.
    private var kernelDeltas: [(name: String, value: Int64)] {
        guard let first = kernelHistory.first?.counters, let last = kernelHistory.last?.counters else { return [] }
        let before = Dictionary(first.named, uniquingKeysWith: { a, _ in a })
        return last.named.compactMap { entry in before[entry.name].map { (entry.name, entry.value &- $0) } }
    }
}
