import Netlink

/// The evidence of a path finding, as `/findings` serves it: both classes side by side, the
/// worst peers, the thresholds, the kernel's TCP counters and the NIC allowance counters.
public struct PathEvidence: FindingDetail, Hashable {
    /// `public`, `private` or `node`: which verdict this is.
    public var path: String
    /// `low` when a degraded class had fewer than `paths.minPeers` active peers.
    public var confidence: PathDegradationDetector.Confidence
    /// Which way the degraded class(es) lose data: `send`, `receive` or `both`.
    public var direction: LossDirection
    public var windowSeconds: Double
    /// Peers left out of the verdict because `paths.maxPeers` were remembered.
    public var untrackedPeers: Int
    public var `public`: ClassEvidence
    public var `private`: ClassEvidence
    public var worstPeers: [PeerEvidence]
    public var thresholds: Thresholds
    /// Growth of each kernel counter (named as the kernel spells it) over the window.
    public var kernelCountersInWindow: [String: Int64]
    public var nicAllowanceCounters: NICEvidence

    public struct Thresholds: Encodable, Sendable, Hashable {
        public var retransmitRatio: Double
        public var collapsedShare: Double
        public var outOfOrderRatio: Double
        public var minBytes: UInt64
        public var minPeerBytes: UInt64
        public var lossyPeerShare: Double
        public var minLossyPeers: Int
        public var minPeers: Int
        public var peerWeightCapBytes: UInt64
        public var sustainSeconds: Double

        init(_ s: PathDegradationDetector.Settings) {
            retransmitRatio = s.retransmitRatio
            collapsedShare = s.collapsedShare
            outOfOrderRatio = s.outOfOrderRatio
            minBytes = s.minBytes
            minPeerBytes = s.minPeerBytes
            lossyPeerShare = s.lossyPeerShare
            minLossyPeers = PathDegradationDetector.minLossyPeers
            minPeers = s.minPeers
            peerWeightCapBytes = s.peerWeightCapBytes
            sustainSeconds = s.sustainSeconds
        }
    }

    /// What a class verdict rests on: its peers.
    public struct PeersEvidence: Encodable, Sendable, Hashable {
        public var active: Int
        public var lossy: Int
        public var lossySending: Int
        public var lossyReceiving: Int
        public var lossyShare: Double
        public var retransmitRatioP50: Double?
        public var retransmitRatioP90: Double?
        public var outOfOrderRatioP50: Double?
        public var outOfOrderRatioP90: Double?

        init(_ b: PeerBreadth) {
            active = b.active
            lossy = b.lossy
            lossySending = b.lossySending
            lossyReceiving = b.lossyReceiving
            lossyShare = b.lossyShare
            retransmitRatioP50 = b.retransmitRatioP50
            retransmitRatioP90 = b.retransmitRatioP90
            outOfOrderRatioP50 = b.outOfOrderRatioP50
            outOfOrderRatioP90 = b.outOfOrderRatioP90
        }
    }

    /// One path class over the window.
    public struct ClassEvidence: Encodable, Sendable, Hashable {
        public var status: String
        public var degraded: Bool
        public var bytesSent: UInt64
        public var bytesRetransmitted: UInt64
        public var retransmitRatio: Double
        public var retransmittedSegments: UInt64
        public var collapsedCwndShare: Double
        public var sockets: Int
        public var activeSockets: Int
        public var collapsedCwndSockets: Int
        public var recoveringSockets: Int
        public var deliveryRateBytesPerSecond: UInt64
        public var cwndP10: UInt64?
        public var cwndP50: UInt64?
        public var ssthreshP50: UInt64?
        public var rttP50Microseconds: UInt64?
        public var rttP90Microseconds: UInt64?
        public var bytesReceived: UInt64
        public var dataSegmentsReceived: UInt64
        public var outOfOrderPackets: UInt64
        public var outOfOrderRatio: Double
        public var receivingSockets: Int
        public var receiveRttP50Microseconds: UInt64?
        public var rcvSpaceP50Bytes: UInt64?
        public var confidence: PathDegradationDetector.Confidence
        public var direction: LossDirection
        public var peers: PeersEvidence

        init(_ w: PathDegradationDetector.ClassWindow) {
            status = w.status.rawValue
            degraded = w.raised
            bytesSent = w.bytesSent
            bytesRetransmitted = w.bytesRetransmitted
            retransmitRatio = w.retransmitRatio
            retransmittedSegments = w.retransmittedSegments
            collapsedCwndShare = w.collapsedShare
            sockets = w.latest.sockets
            activeSockets = w.latest.activeSockets
            collapsedCwndSockets = w.latest.collapsedSockets
            recoveringSockets = w.latest.recoveringSockets
            deliveryRateBytesPerSecond = w.latest.deliveryRate
            cwndP10 = w.latest.congestionWindows.quantile(0.1)
            cwndP50 = w.latest.congestionWindows.quantile(0.5)
            ssthreshP50 = w.latest.slowStartThresholds.quantile(0.5)
            rttP50Microseconds = w.latest.roundTripTimes.quantile(0.5)
            rttP90Microseconds = w.latest.roundTripTimes.quantile(0.9)
            bytesReceived = w.bytesReceived
            dataSegmentsReceived = w.dataSegmentsIn
            outOfOrderPackets = w.outOfOrderPackets
            outOfOrderRatio = w.outOfOrderRatio
            receivingSockets = w.latest.receivingSockets
            receiveRttP50Microseconds = w.latest.receiveRoundTripTimes.quantile(0.5)
            rcvSpaceP50Bytes = w.latest.receiveSpaces.quantile(0.5)
            confidence = w.confidence
            direction = w.status == .lossy ? w.peers.direction : .none
            peers = PeersEvidence(w.peers)
        }
    }

    /// One peer over the window.
    public struct PeerEvidence: Encodable, Sendable, Hashable {
        /// The busiest address of the peer.
        public var address: String
        /// The address group counted as one peer (`paths.peerPrefixLengthIPv4`/`IPv6`).
        public var peer: String
        public var path: String
        public var sockets: Int
        public var bytesSent: UInt64
        public var bytesRetransmitted: UInt64
        public var retransmitRatio: Double
        public var bytesReceived: UInt64
        public var outOfOrderRatio: Double
        /// Which way this peer alone is lossy (`none` when it is clean).
        public var lossy: LossDirection
        public var smallestCwnd: UInt32
        public var largestRttMicroseconds: UInt32
        public var largestReceiveRttMicroseconds: UInt32

        init(_ peer: PeerWindow) {
            address = peer.address.description
            self.peer = peer.key.description
            path = peer.path.rawValue
            sockets = peer.sockets
            bytesSent = peer.bytesSent
            bytesRetransmitted = peer.bytesRetransmitted
            retransmitRatio = peer.retransmitRatio
            bytesReceived = peer.bytesReceived
            outOfOrderRatio = peer.outOfOrderRatio
            lossy = peer.lossy
            smallestCwnd = peer.smallestCongestionWindow == .max ? 0 : peer.smallestCongestionWindow
            largestRttMicroseconds = peer.largestRTT
            largestReceiveRttMicroseconds = peer.largestReceiveRTT
        }
    }

    /// The cloud NIC's allowance counters, or why there are none.
    public struct NICEvidence: Encodable, Sendable, Hashable {
        public var available: Bool
        public var note: String?
        public var allZero: Bool?
        /// Per interface: its driver and each `*_allowance_exceeded` statistic.
        public var interfaces: [String: Interface]?

        public struct Interface: Encodable, Sendable, Hashable {
            public var driver: String
            public var counters: [NICAllowance: UInt64]

            public func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Key.self)
                for (allowance, value) in counters { try container.encode(value, forKey: Key(allowance.statisticName)) }
                try container.encode(driver, forKey: Key("driver"))
            }
        }

        init(_ readings: [NICAllowanceReading]) {
            guard !readings.isEmpty else {
                available = false
                note =
                    "no interface driver on this node exposes *_allowance_exceeded ethtool statistics (AWS ENA does); the NIC could not be ruled out this way"
                return
            }
            available = true
            allZero = readings.allSatisfy { $0.counters.values.allSatisfy { $0 == 0 } }
            interfaces = Dictionary(
                readings.map { ($0.interface, Interface(driver: $0.driver, counters: $0.counters)) }, uniquingKeysWith: { a, _ in a })
        }
    }

    /// A key spelled at run time (counter and statistic names).
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
