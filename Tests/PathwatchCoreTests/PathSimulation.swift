import Netlink

@testable import PathwatchCore

/// A simulated node for the path tests: TCP sockets whose counters grow each round by chosen
/// amounts, in both directions, with chosen loss.
struct SimulatedSockets {
    struct Socket {
        var record: TCPSocketRecord
        /// Payload the node sends to the peer per round, and the share of it sent again.
        var sent: UInt64
        var loss: Double
        /// Payload the peer sends to the node per round, and the share of its packets that
        /// arrive out of order.
        var received: UInt64
        var inLoss: Double
        var cwnd: UInt32
    }

    var sockets: [Socket] = []
    private var nextCookie: UInt64 = 1

    static let local4 = IPAddress("10.0.1.10")!
    static let local6 = IPAddress("2001:db8:10::10")!

    mutating func open(to peer: IPAddress, sent: UInt64 = 0, received: UInt64 = 0, loss: Double = 0, inLoss: Double = 0, cwnd: UInt32 = 10)
    {
        let record = TCPSocketRecord(
            local: peer.family == .inet ? Self.local4 : Self.local6, localPort: 443, remote: peer,
            remotePort: UInt16(truncatingIfNeeded: 40000 + nextCookie), cookie: nextCookie, info: TCPInfo(sendCongestionWindow: cwnd))
        nextCookie += 1
        sockets.append(Socket(record: record, sent: sent, loss: loss, received: received, inLoss: inLoss, cwnd: cwnd))
    }

    mutating func set(loss: Double? = nil, inLoss: Double? = nil, cwnd: UInt32? = nil, where matches: (IPAddress) -> Bool) {
        for i in sockets.indices where matches(sockets[i].record.remoteAddress) {
            if let loss { sockets[i].loss = loss }
            if let inLoss { sockets[i].inLoss = inLoss }
            if let cwnd { sockets[i].cwnd = cwnd }
        }
    }

    /// One round of traffic: every socket's counters grow; returns the records as a dump would.
    mutating func tick() -> [TCPSocketRecord] {
        for i in sockets.indices {
            let s = sockets[i]
            var info = s.record.info!
            let retransmitted = UInt64(Double(s.sent) * s.loss)
            info.bytesSent! += s.sent + retransmitted
            info.bytesRetransmitted! += retransmitted
            info.totalRetransmits &+= UInt32(retransmitted / 1448)
            info.sendCongestionWindow = s.cwnd
            info.sendSlowStartThreshold = s.loss > 0 ? max(2, s.cwnd) : TCPInfo.unboundedSlowStartThreshold
            info.congestionState = s.loss > 0 ? .recovery : .open
            let segments = s.received / 1448
            info.bytesReceived! += s.received
            info.dataSegmentsIn! &+= UInt32(segments)
            info.outOfOrderPacketsReceived! &+= UInt32(Double(segments) * s.inLoss)
            info.receiveRTT = s.received > 0 ? 20_000 : 0
            sockets[i].record.info = info
        }
        return sockets.map(\.record)
    }
}

/// Aggregator and detector driven round by round on a monotonic clock the test advances.
struct PathHarness {
    var node = SimulatedSockets()
    var aggregator: PathAggregator
    var detector: PathDegradationDetector
    var time = ContinuousClock.now
    var interval = 5.0

    init(aggregator: PathAggregator.Settings = .init(), detector: PathDegradationDetector.Settings = .init()) {
        self.aggregator = PathAggregator(settings: aggregator)
        self.detector = PathDegradationDetector(settings: detector)
    }

    mutating func round() -> PathDegradationDetector.Assessment {
        aggregator.begin()
        for record in node.tick() { aggregator.add(record) }
        let sample = aggregator.finish(at: time)
        time += .seconds(interval)
        return detector.ingest(sample)
    }

    mutating func rounds(_ n: Int) -> [PathDegradationDetector.Assessment] { (0..<n).map { _ in round() } }
}

/// The engine's source in tests: the simulated sockets, a kernel counter that grows.
struct SimulatedSource: PathSampleSource {
    var node = SimulatedSockets()
    var retransmittedSegments: Int64 = 100
    var failNext = false

    struct DumpFailed: Error {}

    mutating func forEachSocket(_ body: (TCPSocketRecord) -> Void) throws -> Int {
        if failNext {
            failNext = false
            throw DumpFailed()
        }
        for record in node.tick() { body(record) }
        return 0
    }

    mutating func kernelCounters() -> KernelTCPCounters {
        retransmittedSegments += 7
        var counters = KernelTCPCounters()
        counters.retransmittedSegments = retransmittedSegments
        return counters
    }

    func nicAllowances() -> [NICAllowanceReading] { [] }
}
