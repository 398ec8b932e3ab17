import Foundation
import Netlink

/// Turns sampling rounds of TCP sockets into per-class deltas (``PathSample``).
///
/// Sockets are identified by their kernel cookie. Each round keeps only the counters of the
/// sockets it saw, so closed sockets are forgotten at once and memory is bounded by
/// `maxTrackedSockets` entries (about 40 bytes each). A socket first seen in a round counts
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
        /// Peers with retransmissions remembered per round for the worst-peer list.
        public var maxPeersPerRound = 4096
        /// Worst peers kept per class per round.
        public var worstPeers = 5

        public init() {}
    }

    struct Counters {
        var bytesSent: UInt64
        var bytesRetransmitted: UInt64
        var totalRetransmits: UInt32
    }

    public let settings: Settings
    private var previous: [UInt64: Counters] = [:]
    private var current: [UInt64: Counters] = [:]
    private var round = PathSample(time: Date(timeIntervalSince1970: 0))
    private var peers: [IPAddress: PeerSample] = [:]
    private var rounds = 0

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// How many sockets the last round tracked.
    public var trackedSockets: Int { previous.count }

    public mutating func begin() {
        current.removeAll(keepingCapacity: true)
        peers.removeAll(keepingCapacity: true)
        round = PathSample(time: Date(timeIntervalSince1970: 0), classes: [.public: ClassSample(), .private: ClassSample()])
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
        let now = Counters(bytesSent: bytesSent, bytesRetransmitted: bytesRetransmitted, totalRetransmits: info.totalRetransmits)
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
        let segments = now.totalRetransmits &- (before?.totalRetransmits ?? 0)
        // Counters never go backwards on one socket; a wrap or a bogus value is not traffic.
        guard sent <= 1 << 48, retransmitted <= 1 << 48 else { return }
        sample.bytesSent += sent
        sample.bytesRetransmitted += retransmitted
        sample.retransmittedSegments += UInt64(segments)
        if info.congestionState == .recovery || info.congestionState == .loss { sample.recoveringSockets += 1 }
        guard sent > 0 else { return }
        sample.activeSockets += 1
        let collapsed = info.sendCongestionWindow <= settings.collapsedCongestionWindow
        if collapsed { sample.collapsedSockets += 1 }
        sample.congestionWindows.add(UInt64(info.sendCongestionWindow))
        if info.sendSlowStartThreshold < TCPInfo.unboundedSlowStartThreshold {
            sample.slowStartThresholds.add(UInt64(info.sendSlowStartThreshold))
        }
        sample.roundTripTimes.add(UInt64(info.rtt))
        sample.deliveryRate &+= info.deliveryRate ?? 0
        guard retransmitted > 0 || collapsed else { return }
        let address = PeerClassifier.unmapped(socket.remoteAddress)
        var peer = peers[address] ?? PeerSample(address: address, path: path)
        guard peers[address] != nil || peers.count < settings.maxPeersPerRound else { return }
        peer.sockets += 1
        peer.bytesSent += sent
        peer.bytesRetransmitted += retransmitted
        peer.smallestCongestionWindow = min(peer.smallestCongestionWindow, info.sendCongestionWindow)
        peer.largestRTT = max(peer.largestRTT, info.rtt)
        peers[address] = peer
    }

    public mutating func finish(at time: Date) -> PathSample {
        round.time = time
        round.hasDeltas = rounds > 0
        var worst: [PeerSample] = []
        for path in PathClass.allCases {
            worst += peers.values.filter { $0.path == path }.sorted(by: PeerSample.worse).prefix(settings.worstPeers)
        }
        round.worstPeers = worst.sorted(by: PeerSample.worse)
        swap(&previous, &current)
        rounds += 1
        return round
    }
}
