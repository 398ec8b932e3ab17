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
        public var minBytes = 256 * 1024
        public var privateRanges = PeerClassifier.defaultPrivateRanges
        public var worstPeers = 5
        public var maxTrackedSockets = 262_144

        public init() {}

        public var aggregatorSettings: PathAggregator.Settings {
            var s = PathAggregator.Settings()
            s.classifier = PeerClassifier(privateRanges: privateRanges)
            s.collapsedCongestionWindow = UInt32(collapsedCwnd)
            s.maxTrackedSockets = maxTrackedSockets
            s.worstPeers = worstPeers
            return s
        }

        public var detectorSettings: PathDegradationDetector.Settings {
            var s = PathDegradationDetector.Settings()
            s.windowSeconds = windowSeconds
            s.sustainSeconds = sustainSeconds
            s.clearSeconds = clearSeconds
            s.retransmitRatio = retransmitRatio
            s.collapsedShare = collapsedCwndShare
            s.minBytes = UInt64(minBytes)
            return s
        }
    }
}
