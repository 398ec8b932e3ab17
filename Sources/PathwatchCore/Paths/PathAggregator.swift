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
        var sample = round.classes[path]!
        sample.sockets += 1
        defer { round.classes[path] = sample }
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
        let sent = now.bytesSent &- (before?.bytesSent ?? 0)
        let retransmitted = now.bytesRetransmitted &- (before?.bytesRetransmitted ?? 0)
        let received = now.bytesReceived &- (before?.bytesReceived ?? 0)
        // Counters never go backwards on one socket; a wrap or a bogus value is not traffic.
        guard sent <= 1 << 48, retransmitted <= 1 << 48, received <= 1 << 48 else { return }
        let segmentsIn = UInt64(now.dataSegmentsIn &- (before?.dataSegmentsIn ?? 0))
        let outOfOrder = UInt64(now.outOfOrderPackets &- (before?.outOfOrderPackets ?? 0))
        sample.bytesSent += sent
        sample.bytesRetransmitted += retransmitted
        sample.retransmittedSegments += UInt64(now.totalRetransmits &- (before?.totalRetransmits ?? 0))
        sample.bytesReceived += received
        if received > 0 {
            sample.dataSegmentsIn += segmentsIn
            sample.outOfOrderPackets += outOfOrder
            sample.receivingSockets += 1
            if info.receiveRTT > 0 { sample.receiveRoundTripTimes.add(UInt64(info.receiveRTT)) }
            sample.receiveSpaces.add(UInt64(info.receiveSpace))
        }
        if info.congestionState == .recovery || info.congestionState == .loss { sample.recoveringSockets += 1 }
        let collapsed = sent > 0 && info.sendCongestionWindow <= settings.collapsedCongestionWindow
        if sent > 0 {
            sample.activeSockets += 1
            if collapsed { sample.collapsedSockets += 1 }
            sample.congestionWindows.add(UInt64(info.sendCongestionWindow))
            if info.sendSlowStartThreshold < TCPInfo.unboundedSlowStartThreshold {
                sample.slowStartThresholds.add(UInt64(info.sendSlowStartThreshold))
            }
            sample.roundTripTimes.add(UInt64(info.rtt))
            sample.deliveryRate &+= info.deliveryRate ?? 0
        }
        guard sent > 0 || received > 0 else { return }
        let key = settings.classifier.peer(socket.remoteAddress)
        guard round.peers[key] != nil || round.peers.count < settings.maxPeersPerRound else {
            round.untrackedPeers += 1
            return
        }
        var peer = round.peers[key] ?? PeerRound(path: path, address: PeerClassifier.unmapped(socket.remoteAddress))
        peer.add(address: PeerClassifier.unmapped(socket.remoteAddress), sent: sent, retransmitted: retransmitted, received: received)
        if received > 0 {
            peer.dataSegmentsIn += segmentsIn
            peer.outOfOrderPackets += outOfOrder
            peer.largestReceiveRTT = max(peer.largestReceiveRTT, info.receiveRTT)
        }
        if sent > 0 {
            peer.sendingSockets += 1
            if collapsed { peer.collapsedSockets += 1 }
            peer.smallestCongestionWindow = min(peer.smallestCongestionWindow, info.sendCongestionWindow)
            peer.largestRTT = max(peer.largestRTT, info.rtt)
        }
        round.peers[key] = peer
    }

    public mutating func finish(at time: ContinuousClock.Instant) -> PathSample {
        var sample = PathSample(time: time, classes: round.classes, peers: round.peers, hasDeltas: rounds > 0)
        sample.excludedSockets = round.excludedSockets
        sample.untrackedSockets = round.untrackedSockets
        sample.untrackedPeers = round.untrackedPeers
        sample.socketsWithoutCounters = round.socketsWithoutCounters
        swap(&previous, &current)
        rounds += 1
        return sample
    }

    private struct Round {
        var classes: [PathClass: ClassSample] = [.public: ClassSample(), .private: ClassSample()]
        var peers: [PeerKey: PeerRound] = [:]
        var excludedSockets = 0
        var untrackedSockets = 0
        var untrackedPeers = 0
        var socketsWithoutCounters = 0
    }
}
