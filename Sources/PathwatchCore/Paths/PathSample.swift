import Netlink

/// One sampling round's view of one path class: deltas since the previous round for the
/// counters, the state at the moment of sampling for windows and RTTs.
public struct ClassSample: Sendable, Hashable {
    /// Established sockets to peers of this class.
    public var sockets = 0
    /// Sockets that sent payload since the previous round.
    public var activeSockets = 0
    /// Sockets that received payload since the previous round.
    public var receivingSockets = 0
    /// Payload bytes sent, retransmissions included (`tcpi_bytes_sent` deltas).
    public var bytesSent: UInt64 = 0
    /// Payload bytes retransmitted (`tcpi_bytes_retrans` deltas).
    public var bytesRetransmitted: UInt64 = 0
    /// Segments retransmitted (`tcpi_total_retrans` deltas).
    public var retransmittedSegments: UInt64 = 0
    /// Payload bytes received (`tcpi_bytes_received` deltas).
    public var bytesReceived: UInt64 = 0
    /// Data segments received (`tcpi_data_segs_in` deltas).
    public var dataSegmentsIn: UInt64 = 0
    /// Data packets that arrived out of order (`tcpi_rcv_ooopack` deltas): loss on the way in.
    public var outOfOrderPackets: UInt64 = 0
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
    /// Receiver RTT estimates (`tcpi_rcv_rtt`) of the receiving sockets, microseconds.
    public var receiveRoundTripTimes = Distribution()
    /// `tcpi_rcv_space` of the receiving sockets, bytes.
    public var receiveSpaces = Distribution()
    /// Sum of the active sockets' delivery rates (bytes/s): what they deliver together.
    public var deliveryRate: UInt64 = 0

    public init() {}
}

/// One socket's growth since the previous round.
struct SocketDelta {
    var sent: UInt64
    var retransmitted: UInt64
    var retransmittedSegments: UInt64
    var received: UInt64
    var segmentsIn: UInt64
    var outOfOrder: UInt64
    /// Sent data with a congestion window at or below the collapse threshold.
    var collapsed = false
}

extension ClassSample {
    mutating func count(_ d: SocketDelta, _ info: TCPInfo) {
        bytesSent += d.sent
        bytesRetransmitted += d.retransmitted
        retransmittedSegments += d.retransmittedSegments
        bytesReceived += d.received
        if d.received > 0 {
            dataSegmentsIn += d.segmentsIn
            outOfOrderPackets += d.outOfOrder
            receivingSockets += 1
            if info.receiveRTT > 0 { receiveRoundTripTimes.add(UInt64(info.receiveRTT)) }
            receiveSpaces.add(UInt64(info.receiveSpace))
        }
        if info.congestionState == .recovery || info.congestionState == .loss { recoveringSockets += 1 }
        guard d.sent > 0 else { return }
        activeSockets += 1
        if d.collapsed { collapsedSockets += 1 }
        congestionWindows.add(UInt64(info.sendCongestionWindow))
        if info.sendSlowStartThreshold < TCPInfo.unboundedSlowStartThreshold {
            slowStartThresholds.add(UInt64(info.sendSlowStartThreshold))
        }
        roundTripTimes.add(UInt64(info.rtt))
        deliveryRate &+= info.deliveryRate ?? 0
    }
}

/// What the sockets to one peer did in one round (deltas), for the per-peer verdict.
public struct PeerRound: Sendable, Hashable {
    public var path: PathClass
    /// The address that moved the most bytes, to name the peer by.
    public var address: IPAddress
    var addressBytes: UInt64 = 0
    public var sockets = 0
    public var bytesSent: UInt64 = 0
    public var bytesRetransmitted: UInt64 = 0
    public var bytesReceived: UInt64 = 0
    public var dataSegmentsIn: UInt64 = 0
    public var outOfOrderPackets: UInt64 = 0
    /// Sockets that sent data, and those of them with a collapsed window.
    public var sendingSockets = 0
    public var collapsedSockets = 0
    public var smallestCongestionWindow: UInt32 = .max
    public var largestRTT: UInt32 = 0
    public var largestReceiveRTT: UInt32 = 0

    public init(path: PathClass, address: IPAddress) {
        self.path = path
        self.address = address
    }

    /// Adds one socket's deltas; `socketAddress` names the peer when it is the busiest so far.
    mutating func count(_ d: SocketDelta, _ info: TCPInfo, address socketAddress: IPAddress) {
        sockets += 1
        bytesSent += d.sent
        bytesRetransmitted += d.retransmitted
        bytesReceived += d.received
        if d.sent + d.received > addressBytes {
            addressBytes = d.sent + d.received
            address = socketAddress
        }
        if d.received > 0 {
            dataSegmentsIn += d.segmentsIn
            outOfOrderPackets += d.outOfOrder
            largestReceiveRTT = max(largestReceiveRTT, info.receiveRTT)
        }
        if d.sent > 0 {
            sendingSockets += 1
            if d.collapsed { collapsedSockets += 1 }
            smallestCongestionWindow = min(smallestCongestionWindow, info.sendCongestionWindow)
            largestRTT = max(largestRTT, info.rtt)
        }
    }
}

/// Everything one sampling round saw.
public struct PathSample: Sendable, Hashable {
    /// When the round was taken, on the monotonic clock the windows are measured with.
    public var time: ContinuousClock.Instant
    public var classes: [PathClass: ClassSample]
    /// Every peer whose sockets sent or received data this round.
    public var peers: [PeerKey: PeerRound]
    /// Sockets to loopback, link-local and other excluded peers.
    public var excludedSockets = 0
    /// Sockets seen but not tracked because the tracking limit was reached.
    public var untrackedSockets = 0
    /// Peers left out of this round because `maxPeersPerRound` were already counted.
    public var untrackedPeers = 0
    /// Sockets without `tcp_info` (or without `tcpi_bytes_sent`, kernels before 4.19).
    public var socketsWithoutCounters = 0
    /// False for the first round after start-up: it only records a baseline.
    public var hasDeltas: Bool

    public init(
        time: ContinuousClock.Instant, classes: [PathClass: ClassSample] = [:], peers: [PeerKey: PeerRound] = [:],
        hasDeltas: Bool = true
    ) {
        self.time = time
        self.classes = classes
        self.peers = peers
        self.hasDeltas = hasDeltas
    }

    public subscript(_ path: PathClass) -> ClassSample { classes[path] ?? ClassSample() }
}
