import Netlink

/// Turns sampling rounds of TCP sockets into per-class and per-peer deltas (``PathSample``).
///
/// Sockets are identified by their kernel cookie. Each round keeps only the counters of the
/// sockets it saw, so closed sockets are forgotten at once and memory is bounded by
/// `maxTrackedSockets` entries (about 50 bytes each). A socket first seen in a round counts
/// from zero (it opened since the last round), except in the very first round, which only
/// records a baseline so a restart does not replay the sockets' whole history.
///
/// Use: ``begin()``, ``add(_:)`` for every socket of the dump, ``finish(at:)``.
public struct PathAggregator: Sendable {
    public struct Settings: Sendable, Equatable {
        public var classifier = PeerClassifier()
        /// Congestion window (segments) at or below which an active socket counts as collapsed.
        public var collapsedCongestionWindow: UInt32 = 2
        /// Sockets remembered between rounds; beyond it new sockets are counted as untracked.
        public var maxTrackedSockets = 262_144
        /// Peers counted per round; beyond it new peers are counted as untracked.
        public var maxPeersPerRound = 16_384

        public init() {}
    }

    /// A socket's cumulative counters; the receive ones are 0 on kernels without them.
    struct Counters {
        var bytesSent: UInt64
        var bytesRetransmitted: UInt64
        var totalRetransmits: UInt32
        var bytesReceived: UInt64
        var dataSegmentsIn: UInt32
        var outOfOrderPackets: UInt32

        init(_ info: TCPInfo, sent: UInt64, retransmitted: UInt64) {
            bytesSent = sent
            bytesRetransmitted = retransmitted
            totalRetransmits = info.totalRetransmits
            // Before 5.4 there is no out-of-order count: the receiving side is then not judged.
            let judgesReceiving = info.outOfOrderPacketsReceived != nil && info.dataSegmentsIn != nil
            bytesReceived = judgesReceiving ? info.bytesReceived ?? 0 : 0
            dataSegmentsIn = info.dataSegmentsIn ?? 0
            outOfOrderPackets = info.outOfOrderPacketsReceived ?? 0
        }
    }

    public let settings: Settings
    private var previous: [UInt64: Counters] = [:]
    private var current: [UInt64: Counters] = [:]
    /// The round being summed; it gets its time (and becomes a ``PathSample``) in ``finish(at:)``.
    private var round = Round()
    private var rounds = 0

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// How many sockets the last round tracked.
    public var trackedSockets: Int { previous.count }

    public mutating func begin() {
        current.removeAll(keepingCapacity: true)
        round = Round()
    }

    public mutating func add(_ socket: TCPSocketRecord) {
        guard let path = settings.classifier.classify(socket.remoteAddress) else {
            round.excludedSockets += 1
            return
        }
        round.update(path) { $0.sockets += 1 }
        guard let info = socket.info, let bytesSent = info.bytesSent, let bytesRetransmitted = info.bytesRetransmitted else {
            round.socketsWithoutCounters += 1
            return
        }
        let now = Counters(info, sent: bytesSent, retransmitted: bytesRetransmitted)
        let known = previous[socket.cookie]
        guard known != nil || current.count < settings.maxTrackedSockets else {
            round.untrackedSockets += 1
            return
        }
        current[socket.cookie] = now
        // In the baseline round, history before start-up is not news.
        let before = known ?? (rounds == 0 ? now : nil)
        var delta = SocketDelta(
            sent: now.bytesSent &- (before?.bytesSent ?? 0),
            retransmitted: now.bytesRetransmitted &- (before?.bytesRetransmitted ?? 0),
            retransmittedSegments: UInt64(now.totalRetransmits &- (before?.totalRetransmits ?? 0)),
            received: now.bytesReceived &- (before?.bytesReceived ?? 0),
            segmentsIn: UInt64(now.dataSegmentsIn &- (before?.dataSegmentsIn ?? 0)),
            outOfOrder: UInt64(now.outOfOrderPackets &- (before?.outOfOrderPackets ?? 0)))
        // Counters never go backwards on one socket; a wrap or a bogus value is not traffic.
        guard delta.sent <= 1 << 48, delta.retransmitted <= 1 << 48, delta.received <= 1 << 48 else { return }
        delta.collapsed = delta.sent > 0 && info.sendCongestionWindow <= settings.collapsedCongestionWindow
        round.update(path) { $0.count(delta, info) }
        guard delta.sent > 0 || delta.received > 0 else { return }
        let key = settings.classifier.peer(socket.remoteAddress)
        let address = PeerClassifier.unmapped(socket.remoteAddress)
        // One hash lookup and an in-place update: this runs for every busy socket of the node.
        if let index = round.peers.index(forKey: key) {
            round.peers.values[index].count(delta, info, address: address)
        } else if round.peers.count < settings.maxPeersPerRound {
            var peer = PeerRound(path: path, address: address)
            peer.count(delta, info, address: address)
            round.peers[key] = peer
        } else {
            round.untrackedPeers += 1
        }
    }

    public mutating func finish(at time: ContinuousClock.Instant) -> PathSample {
        var sample = PathSample(
            time: time, classes: [.public: round.publicClass, .private: round.privateClass], peers: round.peers, hasDeltas: rounds > 0)
        sample.excludedSockets = round.excludedSockets
        sample.untrackedSockets = round.untrackedSockets
        sample.untrackedPeers = round.untrackedPeers
        sample.socketsWithoutCounters = round.socketsWithoutCounters
        swap(&previous, &current)
        rounds += 1
        return sample
    }

    private struct Round {
        // Two stored properties, not a dictionary: updated in place, the histograms are never
        // copied (a dictionary value taken out and put back would copy them for every socket).
        var publicClass = ClassSample()
        var privateClass = ClassSample()
        var peers: [PeerKey: PeerRound] = [:]
        var excludedSockets = 0
        var untrackedSockets = 0
        var untrackedPeers = 0
        var socketsWithoutCounters = 0

        mutating func update(_ path: PathClass, _ body: (inout ClassSample) -> Void) {
            switch path {
            case .public: body(&publicClass)
            case .private: body(&privateClass)
            }
        }
    }
}
