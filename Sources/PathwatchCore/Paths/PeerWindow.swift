import Netlink

/// Which way data was being lost.
public enum LossDirection: String, Sendable, Hashable, Encodable {
    /// Nothing lossy.
    case none
    /// What the node sends: its retransmissions and collapsed congestion windows.
    case send
    /// What the node receives: data arriving out of order (`tcpi_rcv_ooopack`).
    case receive
    case both

    init(send: Bool, receive: Bool) {
        self = send ? (receive ? .both : .send) : (receive ? .receive : .none)
    }
}

/// One peer over the detector window, and the verdict on it alone.
public struct PeerWindow: Sendable, Hashable {
    public var key: PeerKey
    public var path: PathClass
    public var address: IPAddress
    /// The most sockets open to the peer in one round.
    public var sockets = 0
    public var bytesSent: UInt64 = 0
    public var bytesRetransmitted: UInt64 = 0
    public var bytesReceived: UInt64 = 0
    public var dataSegmentsIn: UInt64 = 0
    public var outOfOrderPackets: UInt64 = 0
    public var sendingSocketRounds = 0
    public var collapsedSocketRounds = 0
    public var smallestCongestionWindow: UInt32 = .max
    public var largestRTT: UInt32 = 0
    public var largestReceiveRTT: UInt32 = 0
    /// Judged at all: moved at least `minPeerBytes` in one direction.
    public var isActive = false
    /// Which directions were lossy by the thresholds.
    public var lossy = LossDirection.none
    /// Lossy continuously for `sustainSeconds` (hysteresis as for the classes).
    public var raised = false

    init(key: PeerKey, path: PathClass, address: IPAddress) {
        self.key = key
        self.path = path
        self.address = address
    }

    public var retransmitRatio: Double { bytesSent == 0 ? 0 : Double(bytesRetransmitted) / Double(bytesSent) }
    public var outOfOrderRatio: Double { dataSegmentsIn == 0 ? 0 : Double(outOfOrderPackets) / Double(dataSegmentsIn) }
    public var collapsedShare: Double {
        sendingSocketRounds == 0 ? 0 : Double(collapsedSocketRounds) / Double(sendingSocketRounds)
    }
    public var isLossy: Bool { lossy != .none }

    mutating func add(_ round: PeerRound) {
        sockets = max(sockets, round.sockets)
        address = round.address
        bytesSent += round.bytesSent
        bytesRetransmitted += round.bytesRetransmitted
        bytesReceived += round.bytesReceived
        dataSegmentsIn += round.dataSegmentsIn
        outOfOrderPackets += round.outOfOrderPackets
        sendingSocketRounds += round.sendingSockets
        collapsedSocketRounds += round.collapsedSockets
        smallestCongestionWindow = min(smallestCongestionWindow, round.smallestCongestionWindow)
        largestRTT = max(largestRTT, round.largestRTT)
        largestReceiveRTT = max(largestReceiveRTT, round.largestReceiveRTT)
    }

    /// Judges each direction that carried at least `minPeerBytes`.
    mutating func judge(_ settings: PathDegradationDetector.Settings) {
        let judgesSending = bytesSent >= settings.minPeerBytes
        let judgesReceiving = bytesReceived >= settings.minPeerBytes && dataSegmentsIn > 0
        isActive = judgesSending || judgesReceiving
        let sendLossy =
            judgesSending && (retransmitRatio >= settings.retransmitRatio || collapsedShare >= settings.collapsedShare)
        let receiveLossy = judgesReceiving && outOfOrderRatio >= settings.outOfOrderRatio
        lossy = LossDirection(send: sendLossy, receive: receiveLossy)
    }

    /// The peer's say in its class: its bytes, capped so that one heavy peer counts no more
    /// than any other busy one.
    func weight(cap: UInt64) -> Double { Double(min(bytesSent + bytesReceived, cap)) }

    /// Lossy before clean, then the worse ratio, then the busier, then by key (stable order).
    static func worse(_ a: PeerWindow, _ b: PeerWindow) -> Bool {
        let ra = max(a.retransmitRatio, a.outOfOrderRatio)
        let rb = max(b.retransmitRatio, b.outOfOrderRatio)
        if a.isLossy != b.isLossy { return a.isLossy }
        if ra != rb { return ra > rb }
        if a.bytesSent + a.bytesReceived != b.bytesSent + b.bytesReceived {
            return a.bytesSent + a.bytesReceived > b.bytesSent + b.bytesReceived
        }
        return a.key < b.key
    }
}

/// How the loss of one class is spread over its peers: what a path verdict rests on.
public struct PeerBreadth: Sendable, Hashable {
    /// Peers that moved at least `minPeerBytes` in the window (the ones judged).
    public var active = 0
    public var lossy = 0
    public var lossySending = 0
    public var lossyReceiving = 0
    /// Lossy peers' share of the active peers, each weighted by its bytes capped at
    /// `peerWeightCapBytes`.
    public var lossyShare = 0.0
    /// Per-peer retransmit ratios (peers judged on what they were sent), median and p90.
    public var retransmitRatioP50: Double?
    public var retransmitRatioP90: Double?
    /// Per-peer out-of-order ratios (peers judged on what they sent the node), median and p90.
    public var outOfOrderRatioP50: Double?
    public var outOfOrderRatioP90: Double?

    public init() {}

    init(_ peers: [PeerWindow], settings: PathDegradationDetector.Settings) {
        var total = 0.0
        var lossyWeight = 0.0
        var sendRatios: [Double] = []
        var receiveRatios: [Double] = []
        for peer in peers where peer.isActive {
            active += 1
            let weight = peer.weight(cap: settings.peerWeightCapBytes)
            total += weight
            if peer.isLossy {
                lossy += 1
                lossyWeight += weight
            }
            if peer.lossy == .send || peer.lossy == .both { lossySending += 1 }
            if peer.lossy == .receive || peer.lossy == .both { lossyReceiving += 1 }
            if peer.bytesSent >= settings.minPeerBytes { sendRatios.append(peer.retransmitRatio) }
            if peer.bytesReceived >= settings.minPeerBytes, peer.dataSegmentsIn > 0 { receiveRatios.append(peer.outOfOrderRatio) }
        }
        lossyShare = total == 0 ? 0 : lossyWeight / total
        sendRatios.sort()
        receiveRatios.sort()
        retransmitRatioP50 = Self.quantile(sendRatios, 0.5)
        retransmitRatioP90 = Self.quantile(sendRatios, 0.9)
        outOfOrderRatioP50 = Self.quantile(receiveRatios, 0.5)
        outOfOrderRatioP90 = Self.quantile(receiveRatios, 0.9)
    }

    /// Nearest-rank quantile of sorted values; nil when there are none.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = max(1, Int((Double(sorted.count) * q).rounded(.up)))
        return sorted[min(rank, sorted.count) - 1]
    }

    /// Which way the lossy peers lose.
    public var direction: LossDirection { LossDirection(send: lossySending > 0, receive: lossyReceiving > 0) }
}
