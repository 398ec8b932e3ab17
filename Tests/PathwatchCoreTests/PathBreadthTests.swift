import Foundation
import Netlink
import Testing

@testable import PathwatchCore

/// The verdict rests on breadth (issue 15): synthetic nodes with many peers, long-tailed
/// traffic, one heavy lossy peer, half lossy, all lossy, a single peer; sending and receiving;
/// IPv4, IPv6 and IPv4-mapped peers. Five-second rounds on an injected monotonic clock.
@Suite("Path verdicts rest on breadth")
struct PathBreadthTests {
    static let jump = IPAddress("10.0.2.20")!

    /// `n` public clients in distinct /24s.
    static func client(_ i: Int) -> IPAddress { IPAddress("198.\(51 + i / 250).\(i % 250).20")! }

    /// `count` public peers and two private ones, all sending `sent` a round, none lossy.
    static func node(publicPeers count: Int, sent: UInt64 = 500_000, received: UInt64 = 0) -> PathHarness {
        var h = PathHarness()
        for i in 0..<count { h.node.open(to: client(i), sent: sent, received: received) }
        h.node.open(to: jump, sent: 2_000_000)
        h.node.open(to: IPAddress("10.0.3.20")!, sent: 2_000_000)
        return h
    }

    @Test func lossAcrossEveryPeerIsTheIncidentFoundWithinAMinuteAndCleared() {
        var h = Self.node(publicPeers: 8)
        #expect(h.rounds(6).allSatisfy { $0.verdict == .healthy })
        h.node.set(loss: 0.15, cwnd: 2) { $0.family == .inet && !$0.description.hasPrefix("10.") }
        let during = h.rounds(12)
        let raisedAt = during.firstIndex { $0.verdict == .public }
        #expect(raisedAt != nil)
        #expect(Double(raisedAt ?? 99) * h.interval <= 60)
        #expect(raisedAt! >= Int(h.detector.settings.sustainSeconds / h.interval))
        let last = during.last!
        #expect(last[.public].status == .lossy)
        #expect(last[.public].peers.active == 8)
        #expect(last[.public].peers.lossy == 8)
        #expect(last[.public].confidence == .high)
        #expect(last[.public].peers.direction == .send)
        #expect(abs((last[.public].peers.retransmitRatioP50 ?? 0) - 0.15 / 1.15) < 0.01)
        #expect(last[.private].status == .healthy)
        #expect(last.worstPeers.first?.isLossy == true)
        h.node.set(loss: 0, cwnd: 40) { _ in true }
        let after = h.rounds(20)
        #expect(after.last!.verdict == .healthy)
    }

    /// The case: one client with a bad last mile and most of the bytes.
    @Test func oneHeavyLossyPeerNeverDecidesAlone() {
        var h = Self.node(publicPeers: 5)
        h.node.open(to: IPAddress("216.66.125.161")!, sent: 20_000_000, loss: 0.13, cwnd: 2)
        let all = h.rounds(60)  // five minutes
        #expect(all.allSatisfy { $0.verdict == .healthy })
        let last = all.last!
        #expect(last[.public].status == .healthy)
        #expect(last[.public].peers.lossy == 1)
        #expect(last[.public].peers.lossyShare < 0.5)
        #expect(last[.public].retransmitRatio > 0.1)  // byte-weighted, it would have paged
        #expect(last.raisedPeers.map(\.address) == [IPAddress("216.66.125.161")!])
        #expect(last.worstPeers.first?.key.description == "216.66.125.0/24")
    }

    @Test func halfThePeersLossyIsTheThresholdAndLessIsNot() {
        var h = Self.node(publicPeers: 8)
        h.node.set(loss: 0.1) { [0, 1, 2].map { Self.client($0) }.contains($0) }
        #expect(h.rounds(12).allSatisfy { $0.verdict == .healthy })
        h.node.set(loss: 0.1) { $0 == Self.client(3) }
        let half = h.rounds(12)
        #expect(half.last![.public].peers.lossy == 4)
        #expect(half.last![.public].peers.lossyShare == 0.5)
        #expect(half.last!.verdict == .public)
    }

    /// Hundreds of peers, bytes long-tailed: the heaviest few lossy is not the path; all lossy is.
    @Test func longTailedTrafficIsJudgedPerPeer() {
        var h = PathHarness()
        for i in 0..<300 {
            // Pareto-like: a few peers move megabytes, most move tens of kilobytes.
            let bytes = UInt64(20_000 * pow(300.0 / Double(i + 1), 1.2))
            h.node.open(to: Self.client(i), sent: bytes)
        }
        h.node.open(to: Self.jump, sent: 2_000_000)
        h.node.set(loss: 0.2, cwnd: 2) { (0..<5).map(Self.client).contains($0) }
        let heavy = h.rounds(12)
        #expect(heavy.allSatisfy { $0.verdict == .healthy })
        #expect(heavy.last![.public].peers.lossy == 5)
        #expect(heavy.last![.public].peers.active > 100)
        h.node.set(loss: 0.05) { $0.family == .inet && !$0.description.hasPrefix("10.") }
        let all = h.rounds(12)
        #expect(all.last!.verdict == .public)
        #expect(all.last![.public].peers.lossyShare > 0.9)
    }

    /// One peer cannot tell its last mile from the path: never a path finding, a peer one.
    /// Two lossy peers out of two are a path finding, with low confidence.
    @Test func aSinglePeerClassMeansAPeerFindingAndTwoLowConfidence() {
        var h = PathHarness()
        h.node.open(to: Self.client(0), sent: 5_000_000, loss: 0.25, cwnd: 2)
        h.node.open(to: Self.jump, sent: 5_000_000)
        let single = h.rounds(20)
        #expect(single.allSatisfy { $0.verdict == .healthy })
        #expect(single.last![.public].peers.active == 1)
        #expect(single.last!.raisedPeers.count == 1)
        h.node.open(to: Self.client(1), sent: 5_000_000, loss: 0.25, cwnd: 2)
        let two = h.rounds(10)
        #expect(two.last!.verdict == .public)
        #expect(two.last![.public].confidence == .low)
    }

    /// A node that mostly receives (uploads to it): its own retransmit ratio is 0, the
    /// out-of-order data tells.
    @Test func aNodeThatMostlyReceivesIsJudgedByWhatArrivesOutOfOrder() {
        var h = PathHarness()
        for i in 0..<6 { h.node.open(to: Self.client(i), sent: 2_000, received: 3_000_000) }
        h.node.open(to: Self.jump, received: 3_000_000)
        h.node.open(to: IPAddress("10.0.3.20")!, received: 3_000_000)
        #expect(h.rounds(6).allSatisfy { $0.verdict == .healthy })
        h.node.set(inLoss: 0.2) { !$0.description.hasPrefix("10.") }
        let last = h.rounds(8).last!
        #expect(last.verdict == .public)
        #expect(last[.public].retransmitRatio == 0)
        #expect(last[.public].peers.direction == .receive)
        #expect(last[.public].peers.lossyReceiving == 6)
        #expect((last[.public].peers.outOfOrderRatioP50 ?? 0) > 0.15)
        #expect(last[.private].status == .healthy)
    }

    /// IPv6 peers (one per /64, two addresses in one /64 are one peer) and IPv4-mapped ones.
    @Test func ipv6AndMappedPeersCountAsPeers() {
        var h = PathHarness()
        for i in 0..<4 { h.node.open(to: IPAddress("2001:db8:\(i + 1)::20")!, sent: 1_000_000) }
        h.node.open(to: IPAddress("2001:db8:1::21")!, sent: 1_000_000)  // same /64 as the first
        h.node.open(to: IPAddress("::ffff:198.51.100.20")!, sent: 1_000_000)
        h.node.open(to: IPAddress("198.51.100.21")!, sent: 1_000_000)  // same /24 as the mapped one
        h.node.open(to: IPAddress("fd00:2::20")!, sent: 1_000_000)
        h.node.open(to: IPAddress("fd00:3::20")!, sent: 1_000_000)
        let clean = h.rounds(3).last!
        #expect(clean[.public].peers.active == 5)
        #expect(clean[.private].peers.active == 2)
        h.node.set(loss: 0.1, cwnd: 2) { $0.family == .inet6 && !$0.description.hasPrefix("fd") }
        let last = h.rounds(8).last!
        #expect(last.verdict == .public)
        #expect(last[.public].peers.lossy == 5)  // the mapped peer is IPv4-mapped IPv6 too
        #expect(last.worstPeers.contains { $0.key.description == "198.51.100.0/24" })
    }

    @Test func anIdleNodeNeverAlarms() {
        var h = PathHarness()
        // A few keystrokes over SSH with awful loss: below minBytes, never judged.
        for i in 0..<5 { h.node.open(to: Self.client(i), sent: 2_000, loss: 0.5, cwnd: 1) }
        let all = h.rounds(30)
        #expect(all.allSatisfy { $0.verdict == .healthy && $0.raisedPeers.isEmpty })
        #expect(all.last![.public].status == .idle)
    }

    @Test func aShortBurstOfLossDoesNotRaise() {
        var settings = PathDegradationDetector.Settings()
        settings.windowSeconds = 10
        var h = PathHarness(detector: settings)
        for i in 0..<6 { h.node.open(to: Self.client(i), sent: 1_000_000) }
        _ = h.rounds(3)
        h.node.set(loss: 0.2, cwnd: 2) { _ in true }
        _ = h.rounds(2)  // 10 s of loss, less than sustainSeconds
        h.node.set(loss: 0, cwnd: 30) { _ in true }
        #expect(h.rounds(10).allSatisfy { $0.verdict == .healthy })
    }

    @Test func privateLossAloneAndBothPaths() {
        var h = Self.node(publicPeers: 4)
        _ = h.rounds(2)
        h.node.set(loss: 0.1, cwnd: 3) { $0.description.hasPrefix("10.") }
        #expect(h.rounds(10).last?.verdict == .private)
        h.node.set(loss: 0.1, cwnd: 2) { _ in true }
        #expect(h.rounds(10).last?.verdict == .node)
    }

    @Test func collapsedWindowsAloneCountAsLoss() {
        // Retransmit ratio under the threshold, but every active socket at cwnd 1.
        var h = PathHarness()
        for i in 0..<4 { h.node.open(to: Self.client(i), sent: 200_000, loss: 0.005, cwnd: 1) }
        let last = h.rounds(8).last!
        #expect(last[.public].retransmitRatio < 0.02)
        #expect(last[.public].collapsedShare == 1)
        #expect(last.verdict == .public)
        #expect(last.worstPeers.count == 4)
    }

    @Test func trackingIsBoundedAndClosedSocketsAreForgotten() {
        var aggregator = PathAggregator.Settings()
        aggregator.maxTrackedSockets = 3
        aggregator.maxPeersPerRound = 2
        var detector = PathDegradationDetector.Settings()
        detector.maxPeers = 2
        var h = PathHarness(aggregator: aggregator, detector: detector)
        for i in 0..<5 { h.node.open(to: Self.client(i), sent: 100_000) }
        _ = h.round()
        #expect(h.aggregator.trackedSockets == 3)
        let second = h.round()
        #expect(second[.public].peers.active == 2)
        h.node.sockets.removeAll()
        _ = h.round()
        #expect(h.aggregator.trackedSockets == 0)
    }
}
