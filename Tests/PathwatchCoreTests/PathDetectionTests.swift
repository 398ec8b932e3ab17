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
    static let start = ContinuousClock.now

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

    /// One NAT'd office (a /24) or one IPv6 customer network (a /64) is one peer; IPv4-mapped
    /// peers group with their IPv4 address.
    @Test func peersGroupByPrefix() {
        let c = PeerClassifier()
        #expect(c.peer(IPAddress("198.51.100.20")!) == c.peer(IPAddress("198.51.100.99")!))
        #expect(c.peer(IPAddress("198.51.100.20")!).description == "198.51.100.0/24")
        #expect(c.peer(IPAddress("198.51.101.20")!) != c.peer(IPAddress("198.51.100.20")!))
        #expect(c.peer(IPAddress("::ffff:198.51.100.7")!) == c.peer(IPAddress("198.51.100.20")!))
        #expect(c.peer(IPAddress("2001:db8:1:2::a")!) == c.peer(IPAddress("2001:db8:1:2:ffff::1")!))
        #expect(c.peer(IPAddress("2001:db8:1:2::a")!).description == "2001:db8:1:2::/64")
        #expect(c.peer(IPAddress("2001:db8:1:3::a")!) != c.peer(IPAddress("2001:db8:1:2::a")!))
        var hosts = c
        hosts.peerPrefixLengthIPv4 = 32
        #expect(hosts.peer(IPAddress("198.51.100.20")!) != hosts.peer(IPAddress("198.51.100.99")!))
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
        let sample = fresh.finish(at: Self.start + .seconds(5))
        #expect(sample.hasDeltas)
        #expect(sample[.public].sockets == 3)
        #expect(sample[.private].sockets == 3)
        let total = records.compactMap { $0.info?.bytesSent }.reduce(0, +)
        #expect(sample[.public].bytesSent + sample[.private].bytesSent == total)
        #expect(sample[.public].bytesRetransmitted == 0)
        #expect(sample[.public].outOfOrderPackets == 0)
        // The receiving ends: what they received counts for their peer, both directions judged.
        let received = records.compactMap { $0.info?.bytesReceived }.reduce(0, +)
        #expect(sample[.public].bytesReceived + sample[.private].bytesReceived == received)
        #expect(sample.peers.count == 2)
        #expect(sample.peers.values.allSatisfy { $0.sockets == 3 })
        // The same sockets again with no growth: zero deltas, nothing active.
        fresh.begin()
        for (i, r) in records.enumerated() { fresh.add(moved(r, i % 2 == 0 ? Self.publicPeer : Self.privatePeer)) }
        let again = fresh.finish(at: Self.start + .seconds(10))
        #expect(again[.public].bytesSent == 0)
        #expect(again[.public].activeSockets == 0)
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
