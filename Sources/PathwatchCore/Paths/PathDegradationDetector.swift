import Netlink

/// Decides, from sampling rounds and the monotonic clock they were taken on, whether the
/// public path, the private path, or both are degraded, with hysteresis both ways.
///
/// The verdict rests on breadth, not bytes: every peer (an address group, ``PeerKey``) is
/// judged on its own over a sliding window — lossy when what it was sent is retransmitted
/// (`retransmitRatio`) or sent with collapsed windows (`collapsedShare`), or what it sent
/// arrives out of order (`outOfOrderRatio`). A class is *lossy* when at least two of its
/// active peers are, and they weigh at least `lossyPeerShare` of its active peers, each peer's
/// weight being its bytes capped at `peerWeightCapBytes`: one client's bad last mile, however
/// heavy, is one peer, never the path. A class is *raised* once lossy continuously for
/// `sustainSeconds`, lowered once not lossy for `clearSeconds`.
///
/// Public raised alone is the incident (the edge path is bad, the node is fine); private alone
/// points at the provider network or the peers; both at once points at the node itself.
public struct PathDegradationDetector: Sendable {
    public struct Settings: Sendable, Equatable {
        public var windowSeconds = 30.0
        public var sustainSeconds = 20.0
        public var clearSeconds = 30.0
        /// Retransmitted bytes / sent bytes at or above which a peer is lossy.
        public var retransmitRatio = 0.02
        /// Share of a peer's active socket samples with a collapsed cwnd at or above which it is lossy.
        public var collapsedShare = 0.5
        /// Out-of-order packets / data segments received at or above which a peer is lossy.
        public var outOfOrderRatio = 0.05
        /// Bytes a class must move in the window before it is judged at all.
        public var minBytes: UInt64 = 256 * 1024
        /// Bytes a peer must move in one direction in the window before that direction is judged.
        public var minPeerBytes: UInt64 = 64 * 1024
        /// Weighted share of lossy peers at or above which a class is lossy.
        public var lossyPeerShare = 0.5
        /// Active peers below which a verdict has low confidence.
        public var minPeers = 4
        /// A peer's weight: its bytes in the window, at most this.
        public var peerWeightCapBytes: UInt64 = 1 << 20
        /// Peers remembered over the window; new ones beyond it are left out (and counted).
        public var maxPeers = 16_384
        /// Peers listed as the worst.
        public var worstPeers = 5
        public init() {}
    }

    /// Lossy peers a class needs before it is lossy: a single peer cannot tell its own last
    /// mile from the path (docs/design/path-degradation.md).
    public static let minLossyPeers = 2

    public enum Verdict: String, Sendable, Hashable {
        case healthy
        /// Public degraded, private healthy or idle: the incident.
        case `public`
        /// Private degraded, public healthy or idle.
        case `private`
        /// Both degraded: the node itself.
        case node
    }

    public enum ClassStatus: String, Sendable, Hashable {
        /// Fewer than `minBytes` moved in the window, or no peer moved `minPeerBytes`: not judged.
        case idle
        case healthy
        case lossy
    }

    /// How far a class verdict can be trusted.
    public enum Confidence: String, Sendable, Hashable, Encodable {
        /// At least `minPeers` active peers: the verdict rests on breadth.
        case high
        /// Fewer active peers: breadth cannot be judged well (two lossy peers of three may still
        /// be two bad last miles).
        case low
    }

    /// One class over the window.
    public struct ClassWindow: Sendable, Hashable {
        public var status: ClassStatus = .idle
        public var raised = false
        public var bytesSent: UInt64 = 0
        public var bytesRetransmitted: UInt64 = 0
        public var retransmittedSegments: UInt64 = 0
        public var bytesReceived: UInt64 = 0
        public var dataSegmentsIn: UInt64 = 0
        public var outOfOrderPackets: UInt64 = 0
        public var activeSocketRounds = 0
        public var collapsedSocketRounds = 0
        public var peers = PeerBreadth()
        public var confidence = Confidence.low
        /// The latest round: sockets, windows, RTTs as they are now.
        public var latest = ClassSample()

        public init() {}

        public var retransmitRatio: Double { bytesSent == 0 ? 0 : Double(bytesRetransmitted) / Double(bytesSent) }
        public var outOfOrderRatio: Double { dataSegmentsIn == 0 ? 0 : Double(outOfOrderPackets) / Double(dataSegmentsIn) }
        public var collapsedShare: Double {
            activeSocketRounds == 0 ? 0 : Double(collapsedSocketRounds) / Double(activeSocketRounds)
        }
    }

    public struct Assessment: Sendable, Hashable {
        public var time: ContinuousClock.Instant
        public var verdict: Verdict
        public var classes: [PathClass: ClassWindow]
        /// The worst active peers over the window, worst first, at most `worstPeers`.
        public var worstPeers: [PeerWindow]
        /// Peers lossy for `sustainSeconds`, worst first (all of them; the caller bounds).
        public var raisedPeers: [PeerWindow]
        /// Peers left out because `maxPeers` were remembered (this round).
        public var untrackedPeers: Int
        public var windowSeconds: Double

        public subscript(_ path: PathClass) -> ClassWindow { classes[path] ?? ClassWindow() }
    }

    public let settings: Settings
    private var window: [PathSample] = []
    private var peers: [PeerKey: PeerHistory] = [:]
    private var states: [PathClass: Hysteresis] = [.public: Hysteresis(), .private: Hysteresis()]

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// Adds a round and judges the window ending at its time.
    public mutating func ingest(_ sample: PathSample) -> Assessment {
        let now = sample.time
        let span = Duration.seconds(settings.windowSeconds)
        var untracked = sample.untrackedPeers
        if sample.hasDeltas {
            // Per-peer detail lives in `peers`; the class window keeps only the class sums.
            var stripped = sample
            stripped.peers = [:]
            window.append(stripped)
            for (key, round) in sample.peers {
                guard peers[key] != nil || peers.count < settings.maxPeers else {
                    untracked += 1
                    continue
                }
                peers[key, default: PeerHistory(path: round.path)].rounds.append((now, round))
            }
        }
        window.removeAll { now - $0.time >= span }
        var judged: [PathClass: [PeerWindow]] = [.public: [], .private: []]
        var raisedPeers: [PeerWindow] = []
        // Walked by index and updated in place: taking a history out and putting it back would
        // copy its rounds, for every peer in every round.
        var expired: [PeerKey] = []
        var index = peers.startIndex
        while index != peers.endIndex {
            defer { peers.formIndex(after: &index) }
            let key = peers.keys[index]
            peers.values[index].rounds.removeAll { now - $0.time >= span }
            let history = peers.values[index]
            guard let first = history.rounds.first else {
                expired.append(key)
                continue
            }
            var peer = PeerWindow(key: key, path: history.path, address: first.round.address)
            for entry in history.rounds { peer.add(entry.round) }
            peer.judge(settings)
            peer.raised = peers.values[index].state.update(lossy: peer.isLossy, at: now, settings)
            guard peer.isActive else { continue }
            judged[peer.path, default: []].append(peer)
            if peer.raised { raisedPeers.append(peer) }
        }
        for key in expired { peers.removeValue(forKey: key) }
        var classes: [PathClass: ClassWindow] = [:]
        for path in PathClass.allCases {
            var w = classWindow(path, peers: judged[path] ?? [])
            w.latest = sample[path]
            w.raised = states[path]!.update(lossy: w.status == .lossy, at: now, settings)
            classes[path] = w
        }
        let verdict: Verdict =
            switch (classes[.public]!.raised, classes[.private]!.raised) {
            case (true, true): .node
            case (true, false): .public
            case (false, true): .private
            case (false, false): .healthy
            }
        return Assessment(
            time: now, verdict: verdict, classes: classes, worstPeers: Self.worst(settings.worstPeers, of: judged.values.joined()),
            raisedPeers: raisedPeers.sorted(by: PeerWindow.worse), untrackedPeers: untracked, windowSeconds: settings.windowSeconds)
    }

    /// The `k` worst peers, worst first, without sorting them all (16k peers, 5 listed).
    static func worst(_ k: Int, of peers: some Sequence<PeerWindow>) -> [PeerWindow] {
        var result: [PeerWindow] = []
        guard k > 0 else { return result }
        for peer in peers where result.count < k || PeerWindow.worse(peer, result[result.count - 1]) {
            let at = result.firstIndex { PeerWindow.worse(peer, $0) } ?? result.count
            result.insert(peer, at: at)
            if result.count > k { result.removeLast() }
        }
        return result
    }

    private func classWindow(_ path: PathClass, peers: [PeerWindow]) -> ClassWindow {
        var w = ClassWindow()
        for s in window {
            let c = s[path]
            w.bytesSent += c.bytesSent
            w.bytesRetransmitted += c.bytesRetransmitted
            w.retransmittedSegments += c.retransmittedSegments
            w.bytesReceived += c.bytesReceived
            w.dataSegmentsIn += c.dataSegmentsIn
            w.outOfOrderPackets += c.outOfOrderPackets
            w.activeSocketRounds += c.activeSockets
            w.collapsedSocketRounds += c.collapsedSockets
        }
        w.peers = PeerBreadth(peers, settings: settings)
        w.confidence = w.peers.active >= settings.minPeers ? .high : .low
        if w.bytesSent + w.bytesReceived < settings.minBytes || w.peers.active == 0 {
            w.status = .idle
        } else if w.peers.lossy >= Self.minLossyPeers, w.peers.lossyShare >= settings.lossyPeerShare {
            w.status = .lossy
        } else {
            w.status = .healthy
        }
        return w
    }
}

/// Raised after `sustainSeconds` of continuous loss, lowered after `clearSeconds` without.
struct Hysteresis: Sendable, Hashable {
    var lossySince: ContinuousClock.Instant?
    var notLossySince: ContinuousClock.Instant?
    var raised = false

    mutating func update(lossy: Bool, at now: ContinuousClock.Instant, _ settings: PathDegradationDetector.Settings) -> Bool {
        if lossy {
            notLossySince = nil
            let since = lossySince ?? now
            lossySince = since
            if now - since >= .seconds(settings.sustainSeconds) { raised = true }
        } else {
            lossySince = nil
            let since = notLossySince ?? now
            notLossySince = since
            if now - since >= .seconds(settings.clearSeconds) { raised = false }
        }
        return raised
    }
}

/// One peer's rounds within the window, and its own hysteresis.
struct PeerHistory: Sendable {
    var path: PathClass
    var rounds: [(time: ContinuousClock.Instant, round: PeerRound)] = []
    var state = Hysteresis()
}
