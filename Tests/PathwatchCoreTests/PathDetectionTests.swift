import Foundation
import Netlink
import Testing

@testable import PathwatchCore

/// The classifier, aggregator and detector on synthetic and recorded `tcp_info` samples, with
/// an injected clock (each round's time).
@Suite("Path degradation")
struct PathDetectionTests {
    static let publicPeer = IPAddress("198.51.100.20")!
    static let privatePeer = IPAddress("10.0.2.20")!
    static let local = IPAddress("10.0.1.10")!
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// A simulated node: sockets whose counters grow each round by a chosen amount.
    struct Node {
        struct Socket {
            var record: TCPSocketRecord
            var sentPerRound: UInt64
            var lossRatio: Double
            var cwnd: UInt32
        }
        var sockets: [Socket] = []
        var aggregator: PathAggregator
        var detector: PathDegradationDetector
        var time = PathDetectionTests.start
        var interval = 5.0

        init(aggregator: PathAggregator.Settings = .init(), detector: PathDegradationDetector.Settings = .init()) {
            self.aggregator = PathAggregator(settings: aggregator)
            self.detector = PathDegradationDetector(settings: detector)
        }

        mutating func open(to peer: IPAddress, sentPerRound: UInt64, loss: Double, cwnd: UInt32 = 10) {
            let cookie = UInt64(sockets.count + 1)
            let record = TCPSocketRecord(
                local: peer.family == .inet ? PathDetectionTests.local : IPAddress("fd00::10")!, localPort: 22, remote: peer,
                remotePort: UInt16(40000 + sockets.count), cookie: cookie, info: TCPInfo(sendCongestionWindow: cwnd))
            sockets.append(Socket(record: record, sentPerRound: sentPerRound, lossRatio: loss, cwnd: cwnd))
        }

        mutating func set(loss: Double, cwnd: UInt32, where matches: (IPAddress) -> Bool) {
            for i in sockets.indices where matches(sockets[i].record.remoteAddress) {
                sockets[i].lossRatio = loss
                sockets[i].cwnd = cwnd
            }
        }

        /// One round: counters grow, the aggregator samples every socket, the detector judges.
        mutating func round() -> PathDegradationDetector.Assessment {
            aggregator.begin()
            for i in sockets.indices {
                var info = sockets[i].record.info!
                let retransmitted = UInt64(Double(sockets[i].sentPerRound) * sockets[i].lossRatio)
                info.bytesSent! += sockets[i].sentPerRound + retransmitted
                info.bytesRetransmitted! += retransmitted
                info.totalRetransmits += UInt32(retransmitted / 1448)
                info.sendCongestionWindow = sockets[i].cwnd
                info.sendSlowStartThreshold = sockets[i].lossRatio > 0 ? max(2, sockets[i].cwnd) : TCPInfo.unboundedSlowStartThreshold
                info.congestionState = sockets[i].lossRatio > 0 ? .recovery : .open
                sockets[i].record.info = info
                aggregator.add(sockets[i].record)
            }
            let sample = aggregator.finish(at: time)
            time += interval
            return detector.ingest(sample)
        }

        mutating func rounds(_ n: Int) -> [PathDegradationDetector.Assessment] { (0..<n).map { _ in round() } }
    }

    @Test func peersAreClassified() {
        let c = PeerClassifier()
        #expect(c.classify(IPAddress("10.1.2.3")!) == .private)
        #expect(c.classify(IPAddress("172.31.255.1")!) == .private)
        #expect(c.classify(IPAddress("172.32.0.1")!) == .public)
        #expect(c.classify(IPAddress("192.168.1.1")!) == .private)
        #expect(c.classify(IPAddress("100.64.0.1")!) == .private)
        #expect(c.classify(IPAddress("100.128.0.1")!) == .public)
        #expect(c.classify(IPAddress("203.0.113.7")!) == .public)
        #expect(c.classify(IPAddress("fd12::1")!) == .private)
        #expect(c.classify(IPAddress("2001:db8::1")!) == .public)
        #expect(c.classify(IPAddress("127.0.0.1")!) == nil)
        #expect(c.classify(IPAddress("::1")!) == nil)
        #expect(c.classify(IPAddress("169.254.169.254")!) == nil)
        #expect(c.classify(IPAddress("fe80::1")!) == nil)
        #expect(c.classify(IPAddress("::ffff:10.0.0.5")!) == .private)
        #expect(c.classify(IPAddress("::ffff:198.51.100.1")!) == .public)
        #expect(c.classify(IPAddress("::ffff:127.0.0.1")!) == nil)
        let custom = PeerClassifier(privateRanges: [IPPrefix("198.51.100.0/24")!])
        #expect(custom.classify(IPAddress("198.51.100.9")!) == .private)
        #expect(custom.classify(IPAddress("10.0.0.1")!) == .public)
    }

    @Test func distributionsKeepSmallWindowsExact() {
        var d = Distribution()
        for v: UInt64 in [2, 2, 2, 10, 10, 1000, 70_000] { d.add(v) }
        #expect(d.quantile(0.1) == 2)
        #expect(d.quantile(0.4) == 2)
        #expect(d.quantile(0.5) == 10)
        let p90 = d.quantile(1.0)!
        #expect(p90 <= 70_000 && Double(p90) >= 70_000 * 0.75)
        #expect(Distribution().quantile(0.5) == nil)
        for v: UInt64 in [0, 1, 15, 16, 17, 100, 1 << 40, .max] {
            let b = Distribution.bucket(v)
            #expect(Distribution.lowerBound(b) <= v)
            #expect(b < 256)
        }
    }

    /// The decoder's real records (loopback, so excluded), then the same `tcp_info` towards a
    /// public and a private peer: the counters become deltas only after the baseline round.
    @Test func recordedSocketsAggregate() throws {
        let records = try Self.recordedRecords()
        #expect(records.count == 6)
        var aggregator = PathAggregator()
        aggregator.begin()
        for r in records { aggregator.add(r) }
        let loopbackOnly = aggregator.finish(at: Self.start)
        #expect(loopbackOnly.excludedSockets == 6)
        #expect(!loopbackOnly.hasDeltas)

        var fresh = PathAggregator()
        func moved(_ r: TCPSocketRecord, _ peer: IPAddress) -> TCPSocketRecord {
            var r = r
            r.remoteAddress = peer
            return r
        }
        fresh.begin()
        let baseline = fresh.finish(at: Self.start)  // no sockets yet
        #expect(baseline[.public].sockets == 0)
        fresh.begin()
        for (i, r) in records.enumerated() { fresh.add(moved(r, i % 2 == 0 ? Self.publicPeer : Self.privatePeer)) }
        let sample = fresh.finish(at: Self.start + 5)
        #expect(sample.hasDeltas)
        #expect(sample[.public].sockets == 3)
        #expect(sample[.private].sockets == 3)
        let total = records.compactMap { $0.info?.bytesSent }.reduce(0, +)
        #expect(sample[.public].bytesSent + sample[.private].bytesSent == total)
        #expect(sample[.public].bytesRetransmitted == 0)
        #expect(sample.worstPeers.isEmpty)
        // The same sockets again with no growth: zero deltas, nothing active.
        fresh.begin()
        for (i, r) in records.enumerated() { fresh.add(moved(r, i % 2 == 0 ? Self.publicPeer : Self.privatePeer)) }
        let again = fresh.finish(at: Self.start + 10)
        #expect(again[.public].bytesSent == 0)
        #expect(again[.public].activeSockets == 0)
    }

    @Test func theIncidentRaisesPublicWithinAMinuteAndClears() {
        var node = Node()
        node.open(to: Self.publicPeer, sentPerRound: 600_000, loss: 0)
        node.open(to: Self.privatePeer, sentPerRound: 5_000_000, loss: 0.0003)
        #expect(node.rounds(8).allSatisfy { $0.verdict == .healthy })
        // The edge starts losing a quarter of the public packets: cwnd collapses to 2.
        node.set(loss: 0.25, cwnd: 2) { $0 == Self.publicPeer }
        let during = node.rounds(12)
        let raisedAt = during.firstIndex { $0.verdict == .public }
        #expect(raisedAt != nil)
        #expect(Double(raisedAt ?? 99) * node.interval <= 60)
        #expect(during.allSatisfy { $0.verdict != .node && $0.verdict != .private })
        let last = during.last!
        #expect(last[.public].status == .lossy)
        #expect(last[.private].status == .healthy)
        #expect(last.worstPeers.first?.address == Self.publicPeer)
        #expect(last[.public].latest.collapsedSockets == 1)
        #expect(last[.public].latest.congestionWindows.quantile(0.5) == 2)
        // Not raised before the sustain period has passed.
        #expect(raisedAt! >= Int(node.detector.settings.sustainSeconds / node.interval))

        // Re-associating the address fixes it; the finding clears after clearSeconds.
        node.set(loss: 0, cwnd: 40) { $0 == Self.publicPeer }
        let after = node.rounds(20)
        let clearedAt = after.firstIndex { $0.verdict == .healthy }
        #expect(clearedAt != nil)
        #expect(after.last!.verdict == .healthy)
    }

    @Test func anIdleNodeNeverAlarms() {
        var node = Node()
        // A few keystrokes over SSH with awful loss: below minBytes, never judged.
        node.open(to: Self.publicPeer, sentPerRound: 2_000, loss: 0.5, cwnd: 1)
        let all = node.rounds(30)
        #expect(all.allSatisfy { $0.verdict == .healthy })
        #expect(all.last![.public].status == .idle)
    }

    @Test func aShortBurstOfLossDoesNotRaise() {
        var node = Node()
        node.open(to: Self.publicPeer, sentPerRound: 1_000_000, loss: 0)
        _ = node.rounds(3)
        node.set(loss: 0.2, cwnd: 2) { _ in true }
        _ = node.rounds(2)  // 10 s of loss, less than sustainSeconds
        node.set(loss: 0, cwnd: 30) { _ in true }
        // The window still holds the lossy rounds for a while; it must fall out before sustain.
        var settings = PathDegradationDetector.Settings()
        settings.windowSeconds = 10
        var short = Node(detector: settings)
        short.open(to: Self.publicPeer, sentPerRound: 1_000_000, loss: 0)
        _ = short.rounds(3)
        short.set(loss: 0.2, cwnd: 2) { _ in true }
        _ = short.rounds(2)
        short.set(loss: 0, cwnd: 30) { _ in true }
        #expect(short.rounds(10).allSatisfy { $0.verdict == .healthy })
    }

    @Test func privateLossAloneAndBothPaths() {
        var node = Node()
        node.open(to: Self.publicPeer, sentPerRound: 1_000_000, loss: 0)
        node.open(to: Self.privatePeer, sentPerRound: 1_000_000, loss: 0)
        _ = node.rounds(2)
        node.set(loss: 0.1, cwnd: 3) { $0 == Self.privatePeer }
        #expect(node.rounds(10).last?.verdict == .private)
        node.set(loss: 0.1, cwnd: 2) { _ in true }
        #expect(node.rounds(10).last?.verdict == .node)
    }

    @Test func collapsedWindowsAloneCountAsLoss() {
        // Retransmit ratio under the threshold, but every active socket at cwnd 1.
        var node = Node()
        for i in 0..<4 { node.open(to: IPAddress("198.51.100.\(30 + i)")!, sentPerRound: 200_000, loss: 0.005, cwnd: 1) }
        let last = node.rounds(8).last!
        #expect(last[.public].retransmitRatio < 0.02)
        #expect(last[.public].collapsedShare == 1)
        #expect(last.verdict == .public)
        #expect(last.worstPeers.count == 4)
    }

    @Test func trackingIsBoundedAndClosedSocketsAreForgotten() {
        var settings = PathAggregator.Settings()
        settings.maxTrackedSockets = 3
        var node = Node(aggregator: settings)
        for i in 0..<5 { node.open(to: IPAddress("198.51.100.\(i + 1)")!, sentPerRound: 1000, loss: 0) }
        _ = node.round()
        #expect(node.aggregator.trackedSockets == 3)
        node.sockets.removeAll()
        _ = node.round()
        #expect(node.aggregator.trackedSockets == 0)
        // IPv6 public peers work the same.
        node.open(to: IPAddress("2001:db8::7")!, sentPerRound: 1000, loss: 0)
        _ = node.round()
        #expect(node.aggregator.trackedSockets == 1)
    }

    @Test func theFindingCarriesTheEvidence() throws {
        var node = Node()
        node.open(to: Self.publicPeer, sentPerRound: 600_000, loss: 0)
        node.open(to: Self.privatePeer, sentPerRound: 5_000_000, loss: 0)
        _ = node.rounds(2)
        node.set(loss: 0.25, cwnd: 2) { $0 == Self.publicPeer }
        let assessment = node.rounds(10).last!
        #expect(assessment.verdict == .public)
        let nic = [NICAllowanceReading(interface: "eth0", driver: "ena", counters: [.bandwidthIn: 0, .packetsPerSecond: 0])]
        let finding = try #require(
            PathFinding(
                assessment, nic: nic, kernelDeltas: [("Tcp.RetransSegs", 444)], thresholds: node.detector.settings))
        #expect(finding.kind == .publicPathDegraded)
        #expect(finding.key == "public")
        #expect(finding.summary.contains("198.51.100.20"))
        #expect(finding.summary.contains("private path is healthy"))
        #expect(finding.evidence.public.status == "lossy")
        #expect(finding.evidence.private.status == "healthy")
        #expect(finding.evidence.public.cwndP50 == 2)
        #expect(finding.evidence.worstPeers.first?.address == "198.51.100.20")
        #expect(finding.evidence.nicAllowanceCounters.allZero == true)
        let steps = "\(finding.remediation)"
        #expect(steps.contains("Re-associate the elastic/public IP"))
        #expect(steps.contains("second external path"))
        // Healthy: no finding; no NIC counters: said so.
        var healthy = assessment
        healthy.verdict = .healthy
        #expect(PathFinding(healthy, nic: [], kernelDeltas: [], thresholds: .init()) == nil)
        var nodeWide = assessment
        nodeWide.verdict = .node
        let nodeFinding = try #require(PathFinding(nodeWide, nic: [], kernelDeltas: [], thresholds: .init()))
        #expect(nodeFinding.kind == .pathDegraded)
        #expect(nodeFinding.evidence.path == "node")
        #expect(nodeFinding.evidence.nicAllowanceCounters.available == false)
    }

    static func recordedRecords() throws -> [TCPSocketRecord] {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../NetlinkTests/Fixtures/sockdiag").standardized
        var result: [TCPSocketRecord] = []
        for name in ["tcp4-established.bin", "tcp6-established.bin"] {
            let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
            try bytes.withUnsafeBytes { raw in
                try forEachMessage(in: raw) { message throws(DecodeError) in result.append(try TCPSocketRecord(payload: message.payload)) }
            }
        }
        return result
    }
}
