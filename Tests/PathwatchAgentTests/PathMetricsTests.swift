import Netlink
import PathwatchCore
import Testing

@testable import PathwatchAgent

/// The path metrics read the engine's last snapshot at scrape time: nothing before a round
/// but the per-class zeros, the new state as soon as it is published, label values escaped.
@Suite("Path metrics")
struct PathMetricsTests {
    static func page(_ metrics: AgentMetrics) -> String { String(decoding: metrics.exposition(), as: UTF8.self) }

    @Test func beforeTheFirstRoundTheClassesAreServedAtZero() {
        let text = Self.page(AgentMetrics(version: "t", commit: "t"))
        #expect(text.contains("pathwatch_path_degraded{path=\"public\"} 0.0\n"))
        #expect(text.contains("pathwatch_path_peers{path=\"private\",state=\"active\"} 0.0\n"))
        #expect(text.contains("pathwatch_socket_samples_total{result=\"failure\"} 0\n"))
        #expect(!text.contains("pathwatch_netstat_"))
        #expect(!text.contains("pathwatch_nic_allowance_exceeded_total"))
    }

    @Test func aPublishedSnapshotIsWhatTheNextScrapeShows() {
        let metrics = AgentMetrics(version: "t", commit: "t")
        var settings = PathDegradationDetector.Settings()
        settings.sustainSeconds = 0
        settings.minPeerBytes = 1000
        var detector = PathDegradationDetector(settings: settings)
        var publicSample = ClassSample()
        publicSample.bytesSent = 1_000_000
        publicSample.bytesRetransmitted = 100_000
        var peers: [PeerKey: PeerRound] = [:]
        for address in ["198.51.100.20", "203.0.113.7", "2001:db8::1"] {
            var peer = PeerRound(path: .public, address: IPAddress(address)!)
            peer.bytesSent = 300_000
            peer.bytesRetransmitted = 30_000
            peers[PeerClassifier().peer(peer.address)] = peer
        }
        var snapshot = PathHealthEngine.Snapshot()
        snapshot.assessment = detector.ingest(PathSample(time: .now, classes: [.public: publicSample], peers: peers))
        snapshot.nic = [NICAllowanceReading(interface: "we\"ird\\0", driver: "ena", counters: [.packetsPerSecond: 7])]
        metrics.paths.publish(snapshot)
        metrics.paths.recordSample(success: false, seconds: 0.5)
        let text = Self.page(metrics)
        #expect(text.contains("pathwatch_path_degraded{path=\"public\"} 1.0\n"))
        #expect(text.contains("pathwatch_path_peers{path=\"public\",state=\"lossy\"} 3.0\n"))
        #expect(text.contains("pathwatch_path_confidence{path=\"public\"} 0.0\n"))
        #expect(text.contains("pathwatch_tcp_retransmit_ratio{path=\"public\"} 0.1\n"))
        #expect(text.contains("pathwatch_socket_samples_total{result=\"failure\"} 1\n"))
        #expect(text.contains("pathwatch_socket_sample_seconds_total 0.5\n"))
        #expect(text.contains("pathwatch_nic_allowance_exceeded_total{interface=\"we\\\"ird\\\\0\",allowance=\"pps\"} 7\n"))
    }
}
