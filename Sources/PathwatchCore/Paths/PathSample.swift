import Foundation
import Netlink

/// One sampling round's view of one path class: deltas since the previous round for the
/// counters, the state at the moment of sampling for windows and RTTs.
public struct ClassSample: Sendable, Hashable {
    /// Established sockets to peers of this class.
    public var sockets = 0
    /// Sockets that sent payload since the previous round.
    public var activeSockets = 0
    /// Payload bytes sent, retransmissions included (`tcpi_bytes_sent` deltas).
    public var bytesSent: UInt64 = 0
    /// Payload bytes retransmitted (`tcpi_bytes_retrans` deltas).
    public var bytesRetransmitted: UInt64 = 0
    /// Segments retransmitted (`tcpi_total_retrans` deltas).
    public var retransmittedSegments: UInt64 = 0
    /// Active sockets whose congestion window is at or below the collapse threshold.
    public var collapsedSockets = 0
    /// Sockets in loss recovery or after an RTO (`ca_state` Recovery or Loss).
    public var recoveringSockets = 0
    /// Congestion windows of the active sockets, in segments.
    public var congestionWindows = Distribution()
    /// Slow-start thresholds of the active sockets that have seen a loss (finite ssthresh).
    public var slowStartThresholds = Distribution()
    /// Smoothed RTTs of the active sockets, microseconds.
    public var roundTripTimes = Distribution()
    /// Sum of the active sockets' delivery rates (bytes/s): what they deliver together.
    public var deliveryRate: UInt64 = 0

    public init() {}
}

/// One peer's share of a round or a window, for "the worst peers" in a finding.
public struct PeerSample: Sendable, Hashable {
    public var address: IPAddress
    public var path: PathClass
    public var sockets = 0
    public var bytesSent: UInt64 = 0
    public var bytesRetransmitted: UInt64 = 0
    /// The smallest congestion window seen towards the peer, segments.
    public var smallestCongestionWindow: UInt32 = .max
    /// The largest smoothed RTT seen towards the peer, microseconds.
    public var largestRTT: UInt32 = 0

    public init(address: IPAddress, path: PathClass) {
        self.address = address
        self.path = path
    }

    public var retransmitRatio: Double { bytesSent == 0 ? 0 : Double(bytesRetransmitted) / Double(bytesSent) }

    mutating func merge(_ other: PeerSample) {
        sockets = max(sockets, other.sockets)
        bytesSent += other.bytesSent
        bytesRetransmitted += other.bytesRetransmitted
        smallestCongestionWindow = min(smallestCongestionWindow, other.smallestCongestionWindow)
        largestRTT = max(largestRTT, other.largestRTT)
    }

    /// Worse first: more bytes retransmitted, then a higher ratio.
    static func worse(_ a: PeerSample, _ b: PeerSample) -> Bool {
        (a.bytesRetransmitted, a.retransmitRatio, a.address) > (b.bytesRetransmitted, b.retransmitRatio, b.address)
    }
}

/// Everything one sampling round saw.
public struct PathSample: Sendable, Hashable {
    public var time: Date
    public var classes: [PathClass: ClassSample]
    /// The worst peers of this round, at most a few per class, worst first.
    public var worstPeers: [PeerSample]
    /// Sockets to loopback, link-local and other excluded peers.
    public var excludedSockets = 0
    /// Sockets seen but not tracked because the tracking limit was reached.
    public var untrackedSockets = 0
    /// Sockets without `tcp_info` (or without `tcpi_bytes_sent`, kernels before 4.19).
    public var socketsWithoutCounters = 0
    /// False for the first round after start-up: it only records a baseline.
    public var hasDeltas: Bool

    public init(time: Date, classes: [PathClass: ClassSample] = [:], worstPeers: [PeerSample] = [], hasDeltas: Bool = true) {
        self.time = time
        self.classes = classes
        self.worstPeers = worstPeers
        self.hasDeltas = hasDeltas
    }

    public subscript(_ path: PathClass) -> ClassSample { classes[path] ?? ClassSample() }
}
