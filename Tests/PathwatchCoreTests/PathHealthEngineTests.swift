import Foundation
import Netlink
import Testing

@testable import PathwatchCore

/// The path slice's engine against a simulated source: which findings open, stay and clear,
/// and what the snapshot for the metrics holds. No root, no sockets.
@Suite("Path health engine")
struct PathHealthEngineTests {
    static func client(_ i: Int) -> IPAddress { PathBreadthTests.client(i) }

    struct Run {
        var engine = PathHealthEngine()
        var source = SimulatedSource()
        var now = ContinuousClock.now

        mutating func round() throws -> PathHealthEngine.Round {
            defer { now += .seconds(5) }
            return try engine.round(from: &source, at: now)
        }

        mutating func rounds(_ n: Int) throws -> [PathHealthEngine.Round] { try (0..<n).map { _ in try round() } }
    }

    static func kinds(_ outcomes: [PathOutcome]) -> [String] {
        outcomes.map { outcome in
            switch outcome {
            case .path(let f, let opened): "\(opened ? "open" : "keep") \(f.kind.rawValue) \(f.key)"
            case .peer(let f, let opened): "\(opened ? "open" : "keep") peer_path_degraded \(f.key)"
            case .cleared(let kind, let key): "clear \(kind.rawValue) \(key)"
            }
        }
    }

    @Test func aPathFindingOpensStaysAndClears() throws {
        var run = Run()
        for i in 0..<6 { run.source.node.open(to: Self.client(i), sent: 1_000_000) }
        run.source.node.open(to: IPAddress("10.0.2.20")!, sent: 1_000_000)
        #expect(try run.rounds(3).allSatisfy { $0.outcomes.isEmpty })
        run.source.node.set(loss: 0.2, cwnd: 2) { !$0.description.hasPrefix("10.") }
        let during = try run.rounds(8).map { Self.kinds($0.outcomes) }
        let opened = try #require(during.firstIndex { $0 == ["open public_path_degraded public"] })
        #expect(during[(opened + 1)...].allSatisfy { $0 == ["keep public_path_degraded public"] })
        #expect(during[..<opened].allSatisfy { $0.isEmpty })  // peers of a raised class: no peer findings
        let snapshot = run.engine.snapshot
        #expect(snapshot.assessment?.verdict == .public)
        #expect((snapshot.totals[.public]?.bytesRetransmitted ?? 0) > 0)
        #expect(snapshot.kernel.retransmittedSegments != nil)
        run.source.node.set(loss: 0, cwnd: 40) { _ in true }
        let after = try run.rounds(20).map { Self.kinds($0.outcomes) }
        #expect(after.contains(["clear public_path_degraded public"]))
        #expect(after.last == [])
    }

    @Test func aLossyPeerAmongCleanOnesIsAPeerFindingOnlyAndBounded() throws {
        var run = Run()
        for i in 0..<10 { run.source.node.open(to: Self.client(i), sent: 1_000_000) }
        for i in 10..<13 { run.source.node.open(to: Self.client(i), sent: 8_000_000, loss: 0.2, cwnd: 2) }
        var settings = PathHealthEngine.Settings()
        settings.maxPeerFindings = 2
        run.engine = PathHealthEngine(settings: settings)
        let rounds = try run.rounds(12)
        #expect(rounds.allSatisfy { $0.assessment.verdict == .healthy })
        let last = Self.kinds(rounds.last!.outcomes)
        #expect(last.count == 2)
        #expect(last.allSatisfy { $0.hasPrefix("keep peer_path_degraded 198.51.") })
        guard case .peer(let finding, _) = rounds.last!.outcomes.first else {
            Issue.record("no peer finding")
            return
        }
        #expect(finding.summary.contains("10 of 13 active public peers are clean"), "\(finding.summary)")
        #expect(finding.evidence.classPeers.lossy == 3)
        #expect(finding.evidence.peer.lossy == .send)
        run.source.node.set(loss: 0, cwnd: 40) { _ in true }
        #expect(try run.rounds(20).last.map { Self.kinds($0.outcomes) } == [])
    }

    /// A peer finding gives way to the path finding once the loss spreads: the path finding's
    /// worst peers name the peer from then on.
    @Test func aPeerFindingGivesWayToThePathFinding() throws {
        var run = Run()
        for i in 0..<6 { run.source.node.open(to: Self.client(i), sent: 1_000_000) }
        run.source.node.set(loss: 0.2, cwnd: 2) { $0 == Self.client(0) }
        #expect(try run.rounds(8).last.map { Self.kinds($0.outcomes) } == ["keep peer_path_degraded 198.51.0.0/24"])
        run.source.node.set(loss: 0.2, cwnd: 2) { _ in true }
        let spread = try run.rounds(8).map { Self.kinds($0.outcomes) }
        let opened = try #require(spread.firstIndex { $0.contains("open public_path_degraded public") })
        #expect(spread[opened] == ["open public_path_degraded public", "clear peer_path_degraded 198.51.0.0/24"])
    }

    /// A failed dump throws and changes nothing; the next round's deltas span both intervals.
    @Test func aFailedDumpThrowsAndTheNextRoundCarriesOn() throws {
        var run = Run()
        for i in 0..<4 { run.source.node.open(to: Self.client(i), sent: 1_000_000) }
        _ = try run.rounds(2)
        run.source.failNext = true
        #expect(throws: SimulatedSource.DumpFailed.self) { try run.round() }
        let next = try run.round()
        #expect(next.sockets == 4)
        #expect(next.assessment[.public].peers.active == 4)
    }

    /// A new sock_diag session (after a failed dump) starts a new baseline but keeps the open
    /// findings, so they still clear when the loss stops.
    @Test func aNewBaselineKeepsTheOpenFindings() throws {
        var run = Run()
        for i in 0..<6 { run.source.node.open(to: Self.client(i), sent: 1_000_000) }
        run.source.node.set(loss: 0.2, cwnd: 2) { _ in true }
        #expect(try run.rounds(10).last.map { Self.kinds($0.outcomes) } == ["keep public_path_degraded public"])
        run.engine.restartBaseline()
        run.source.node.set(loss: 0, cwnd: 40) { _ in true }
        let after = try run.rounds(20).map { Self.kinds($0.outcomes) }
        #expect(after.contains(["clear public_path_degraded public"]))
        #expect(after.last == [])
    }

    @Test func theFindingCarriesTheEvidence() throws {
        var run = Run()
        for i in 0..<6 { run.source.node.open(to: Self.client(i), sent: 600_000, received: 600_000) }
        run.source.node.open(to: IPAddress("10.0.2.20")!, sent: 5_000_000)
        _ = try run.rounds(2)
        run.source.node.set(loss: 0.25, inLoss: 0.3, cwnd: 2) { !$0.description.hasPrefix("10.") }
        let round = try run.rounds(10).last!
        guard case .path(let finding, _) = round.outcomes.first else {
            Issue.record("no path finding: \(Self.kinds(round.outcomes))")
            return
        }
        #expect(finding.kind == .publicPathDegraded)
        #expect(finding.summary.contains("both ways"))
        #expect(finding.summary.contains("6 of 6 active peers lossy"))
        #expect(finding.summary.contains("private path is healthy"))
        let e = finding.evidence
        #expect(e.confidence == .high)
        #expect(e.direction == .both)
        #expect(e.public.status == "lossy")
        #expect(e.public.peers.active == 6)
        #expect(e.public.peers.lossyReceiving == 6)
        #expect(e.public.cwndP50 == 2)
        #expect(e.private.status == "healthy")
        #expect(e.private.confidence == .low)
        #expect(e.worstPeers.count == 5)
        #expect(e.worstPeers.allSatisfy { $0.lossy == .both && $0.peer.hasSuffix("/24") })
        #expect(e.kernelCountersInWindow["Tcp.RetransSegs"] == 42)  // six rounds of +7
        #expect(e.nicAllowanceCounters.available == false)
        #expect(finding.remediation.steps.first?.contains("Re-associate the elastic/public IP") == true)
        let json = JSONValue(encoding: e).objectMembers
        #expect(json["windowSeconds"] == .number(30))
        #expect(json["confidence"] == .string("high"))
    }
}
