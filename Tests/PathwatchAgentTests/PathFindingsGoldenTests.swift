import Foundation
import Netlink
import PathwatchCore
import Testing

/// The `/findings` JSON of the path findings (`public_path_degraded`, `path_degraded` for the
/// private path and for the node), byte for byte against a committed golden file: dashboards,
/// runbooks and the doctor read these keys.
@Suite("Path findings JSON")
struct PathFindingsGoldenTests {
    static let goldenFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/path-findings.json")
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// A class that sent `sent` bytes a round, `retransmitted` of them again, over `sockets`
    /// sockets with the given window.
    static func classSample(sockets: Int, sent: UInt64, retransmitted: UInt64, cwnd: UInt64, rtt: UInt64) -> ClassSample {
        var sample = ClassSample()
        sample.sockets = sockets
        sample.activeSockets = sockets
        sample.bytesSent = sent
        sample.bytesRetransmitted = retransmitted
        sample.retransmittedSegments = retransmitted / 1448
        sample.collapsedSockets = cwnd <= 2 ? sockets : 0
        sample.recoveringSockets = retransmitted > 0 ? 1 : 0
        sample.deliveryRate = 125_000 * UInt64(sockets)
        for _ in 0..<sockets {
            sample.congestionWindows.add(cwnd)
            if retransmitted > 0 { sample.slowStartThresholds.add(max(2, cwnd)) }
            sample.roundTripTimes.add(rtt)
        }
        return sample
    }

    /// One peer's round: `sent` bytes, `retransmitted` of them again, `received` bytes with
    /// `outOfOrder` of its segments out of order.
    static func peer(
        _ address: String, _ path: PathClass, sent: UInt64, retransmitted: UInt64, received: UInt64 = 0, outOfOrder: UInt64 = 0,
        cwnd: UInt32
    ) -> (PeerKey, PeerRound) {
        let ip = IPAddress(address)!
        var peer = PeerRound(path: path, address: ip)
        peer.sockets = 1
        peer.bytesSent = sent
        peer.bytesRetransmitted = retransmitted
        peer.bytesReceived = received
        peer.dataSegmentsIn = received / 1448
        peer.outOfOrderPackets = outOfOrder
        peer.sendingSockets = sent > 0 ? 1 : 0
        peer.collapsedSockets = sent > 0 && cwnd <= 2 ? 1 : 0
        peer.smallestCongestionWindow = cwnd
        peer.largestRTT = 21_000
        peer.largestReceiveRTT = received > 0 ? 24_000 : 0
        return (PeerClassifier().peer(ip), peer)
    }

    /// Six rounds five seconds apart (the default window and sustain) with the given loss.
    static func assessment(publicLoss: Bool, privateLoss: Bool) -> PathDegradationDetector.Assessment {
        var detector = PathDegradationDetector()
        var last: PathDegradationDetector.Assessment?
        let start = ContinuousClock.now
        for round in 0..<6 {
            let pub = classSample(
                sockets: 2, sent: 600_000, retransmitted: publicLoss ? 150_000 : 0, cwnd: publicLoss ? 2 : 40, rtt: 20_000)
            let priv = classSample(
                sockets: 3, sent: 5_000_000, retransmitted: privateLoss ? 500_000 : 1_000, cwnd: privateLoss ? 2 : 120, rtt: 400)
            var peers: [(PeerKey, PeerRound)] = [
                peer("198.51.100.20", .public, sent: 300_000, retransmitted: publicLoss ? 90_000 : 0, cwnd: publicLoss ? 2 : 40),
                peer("203.0.113.7", .public, sent: 200_000, retransmitted: publicLoss ? 40_000 : 0, cwnd: publicLoss ? 2 : 40),
                peer("2001:db8:1::20", .public, sent: 100_000, retransmitted: publicLoss ? 20_000 : 0, cwnd: publicLoss ? 2 : 40),
                peer("::ffff:192.0.2.9", .public, sent: 0, retransmitted: 0, received: 400_000, outOfOrder: publicLoss ? 60 : 0, cwnd: 10),
                peer("10.0.2.20", .private, sent: 3_000_000, retransmitted: privateLoss ? 300_000 : 1_000, cwnd: privateLoss ? 2 : 120),
                peer("10.0.3.20", .private, sent: 2_000_000, retransmitted: privateLoss ? 200_000 : 0, cwnd: privateLoss ? 2 : 120),
            ]
            peers.append(peer("203.0.114.1", .public, sent: 20_000, retransmitted: 0, cwnd: 10))  // below minPeerBytes
            let sample = PathSample(
                time: start + .seconds(5 * round), classes: [.public: pub, .private: priv],
                peers: Dictionary(peers, uniquingKeysWith: { a, _ in a }), hasDeltas: round > 0)
            last = detector.ingest(sample)
        }
        return last!
    }

    static func findingsJSON() throws -> String {
        let registry = FindingsRegistry()
        let nic = [
            NICAllowanceReading(
                interface: "eth0", driver: "ena", counters: [.bandwidthIn: 0, .bandwidthOut: 0, .packetsPerSecond: 3, .conntrack: 0]),
            NICAllowanceReading(interface: "eth1", driver: "ena", counters: [.linkLocal: 0]),
        ]
        let kernel: [(name: String, value: Int64)] = [
            ("Tcp.RetransSegs", 444), ("TcpExt.TCPLostRetransmit", 215), ("TcpExt.TCPSackRecoveryFail", 35),
        ]
        let cases: [(Bool, Bool, [NICAllowanceReading], Double)] = [
            (true, false, nic, 0), (false, true, [], 60), (true, true, [], 120),
        ]
        for (publicLoss, privateLoss, readings, offset) in cases {
            let assessment = assessment(publicLoss: publicLoss, privateLoss: privateLoss)
            let finding = try #require(
                PathFinding(assessment, nic: readings, kernelDeltas: kernel, thresholds: PathDegradationDetector.Settings()))
            registry.report(
                kind: finding.kind, key: finding.key, summary: finding.summary, evidence: finding.evidence,
                remediation: finding.remediation, at: start + offset)
        }
        return String(decoding: registry.json(), as: UTF8.self)
    }

    @Test func theServedJSONMatchesTheGoldenFile() throws {
        let served = try Self.findingsJSON()
        if ProcessInfo.processInfo.environment["PATHWATCH_REGENERATE_GOLDEN"] == "1" {
            try served.write(to: Self.goldenFile, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: Self.goldenFile, encoding: .utf8)
        #expect(
            served == golden,
            "regenerate with PATHWATCH_REGENERATE_GOLDEN=1 swift test --filter PathFindingsGoldenTests if the change is intended")
    }
}
