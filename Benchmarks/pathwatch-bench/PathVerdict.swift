import Netlink
import PathwatchCore

/// The per-peer path verdict (issue 15) on synthetic sockets: `peers` public peers (each its own
/// /24) with `socketsPerPeer` sockets each, a third of them lossy, rounds five seconds apart on
/// the default 30 s window. Times the aggregation of a round (no dump: the records are built in
/// memory) and the detector's judgement separately; the socket-sampling benchmark has the dump.
func pathVerdictBenchmark(peers: Int, socketsPerPeer: Int, rounds: Int) {
    var records: [TCPSocketRecord] = []
    records.reserveCapacity(peers * socketsPerPeer)
    for peer in 0..<peers {
        let address = IPAddress.v4(UInt32(11) << 24 | UInt32(peer) << 8 | 1)
        for s in 0..<socketsPerPeer {
            records.append(
                TCPSocketRecord(
                    local: IPAddress("10.0.1.10")!, localPort: 443, remote: address, remotePort: UInt16(truncatingIfNeeded: 1024 + s),
                    cookie: UInt64(records.count + 1), info: TCPInfo(bytesSent: 0, bytesRetransmitted: 0)))
        }
    }
    var aggregator = PathAggregator()
    var detector = PathDegradationDetector()
    let clock = ContinuousClock()
    var time = clock.now
    var aggregation: [Duration] = []
    var judgement: [Duration] = []
    var last: PathDegradationDetector.Assessment?
    for _ in 0..<rounds {
        for i in records.indices {
            records[i].info!.bytesSent! += 100_000
            if (i / socketsPerPeer) % 3 == 0 { records[i].info!.bytesRetransmitted! += 5_000 }
        }
        var sample: PathSample?
        aggregation.append(
            clock.measure {
                aggregator.begin()
                for record in records { aggregator.add(record) }
                sample = aggregator.finish(at: time)
            })
        judgement.append(clock.measure { last = detector.ingest(sample!) })
        time += .seconds(5)
    }
    func median(_ d: [Duration]) -> String {
        let sorted = d.dropFirst(6).sorted()  // once the window is full
        guard !sorted.isEmpty else { return "n/a" }
        let v = sorted[sorted.count / 2].components
        return String(Double(v.seconds) * 1000 + Double(v.attoseconds) / 1e15) + " ms"
    }
    print("peers \(peers), sockets \(records.count), rounds \(rounds)")
    print("aggregation per round (median, full window): \(median(aggregation))")
    print("judgement per round (median, full window):   \(median(judgement))")
    print("verdict \(last?.verdict.rawValue ?? "-"), lossy peers \(last?[.public].peers.lossy ?? 0) of \(last?[.public].peers.active ?? 0)")
}
