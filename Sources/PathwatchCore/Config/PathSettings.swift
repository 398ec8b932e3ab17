import Netlink

extension AgentConfig {
    /// `paths:`: public-vs-private path comparison from the node's own TCP sockets
    /// (docs/configuration.md).
    public struct PathSettings: Sendable, Equatable {
        /// Whether to sample TCP sockets at all.
        public var enabled = true
        /// Seconds between socket samples.
        public var sampleIntervalSeconds = 5.0
        public var windowSeconds = 30.0
        public var sustainSeconds = 20.0
        public var clearSeconds = 30.0
        public var retransmitRatio = 0.02
        /// cwnd (segments) at or below which an active socket counts as collapsed.
        public var collapsedCwnd = 2
        public var collapsedCwndShare = 0.5
        public var outOfOrderRatio = 0.05
        public var minBytes = 256 * 1024
        public var minPeerBytes = 64 * 1024
        public var lossyPeerShare = 0.5
        public var minPeers = 4
        public var peerWeightCapBytes = 1 << 20
        public var peerPrefixLengthIPv4 = 24
        public var peerPrefixLengthIPv6 = 64
        public var maxPeers = 16_384
        public var maxPeerFindings = 5
        public var privateRanges = PeerClassifier.defaultPrivateRanges
        public var worstPeers = 5
        public var maxTrackedSockets = 262_144

        public init() {}

        public var engineSettings: PathHealthEngine.Settings {
            var s = PathHealthEngine.Settings()
            s.aggregator.classifier = PeerClassifier(privateRanges: privateRanges)
            s.aggregator.classifier.peerPrefixLengthIPv4 = peerPrefixLengthIPv4
            s.aggregator.classifier.peerPrefixLengthIPv6 = peerPrefixLengthIPv6
            s.aggregator.collapsedCongestionWindow = UInt32(collapsedCwnd)
            s.aggregator.maxTrackedSockets = maxTrackedSockets
            s.aggregator.maxPeersPerRound = maxPeers
            s.detector.windowSeconds = windowSeconds
            s.detector.sustainSeconds = sustainSeconds
            s.detector.clearSeconds = clearSeconds
            s.detector.retransmitRatio = retransmitRatio
            s.detector.collapsedShare = collapsedCwndShare
            s.detector.outOfOrderRatio = outOfOrderRatio
            s.detector.minBytes = UInt64(minBytes)
            s.detector.minPeerBytes = UInt64(minPeerBytes)
            s.detector.lossyPeerShare = lossyPeerShare
            s.detector.minPeers = minPeers
            s.detector.peerWeightCapBytes = UInt64(peerWeightCapBytes)
            s.detector.maxPeers = maxPeers
            s.detector.worstPeers = worstPeers
            s.maxPeerFindings = maxPeerFindings
            return s
        }
    }
}
