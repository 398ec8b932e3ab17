import Netlink
import Testing

@testable import PathwatchCore

/// The counter fallback for pod hairpins under strict reverse-path filtering: the recorded
/// `/proc/net/netstat`, which flows count as stuck, and a finding only with both signals.
@Suite("Reverse-path counter fallback")
struct ReversePathFallbackTests {
    let t0 = ContinuousClock.now
    static let local: Set<IPAddress> = [IPAddress("10.0.1.10")!, IPAddress("10.0.1.20")!, IPAddress("10.0.1.21")!]

    @Test func theCounterIsReadFromNetstat() {
        #expect(ReversePathFallback.counter(netstat: RecordedProcNet.netstat) == 0)
        let text = "TcpExt: SyncookiesSent IPReversePathFilter TW\nTcpExt: 1 42 3\n"
        #expect(ReversePathFallback.counter(netstat: text) == 42)
        #expect(ReversePathFallback.counter(netstat: RecordedProcNet.snmp) == nil, "no TcpExt line: no counter")
    }

    func flow(
        _ id: UInt32, _ source: String, _ sport: UInt16, _ destination: String, _ dport: UInt16, _ proto: IPProtocolNumber = .tcp,
        state: TCPConntrackState? = .synSent, replied: Bool = false
    ) -> ConntrackFlow {
        let (s, d) = (IPAddress(source)!, IPAddress(destination)!)
        var flow = ConntrackFlow(
            family: .inet, id: id,
            original: FlowTuple(source: s, destination: d, protocolNumber: proto, sourcePort: sport, destinationPort: dport),
            reply: FlowTuple(source: d, destination: s, protocolNumber: proto, sourcePort: dport, destinationPort: sport),
            status: replied ? [.seenReply] : [])
        flow.tcpState = proto == .tcp ? state : nil
        return flow
    }

    @Test func onlyUnansweredConnectionsFromLocalEndpointsToOutsideAreStuck() {
        let flows = [
            flow(1, "10.0.1.20", 35220, "10.0.9.9", 80),  // the hairpin's outbound flow
            flow(2, "10.0.1.20", 35221, "10.0.9.9", 80, state: .established, replied: true),
            flow(3, "10.0.1.20", 35222, "10.0.1.21", 8080),  // to a local endpoint: the flow back, not outbound
            flow(4, "192.0.2.7", 5000, "10.0.9.9", 80),  // not from this node
            flow(5, "10.0.1.20", 40000, "10.0.9.9", 53, .udp),
            flow(6, "10.0.1.21", 35300, "10.0.9.8", 443, state: .established),
        ]
        let stuck = ReversePathFallback.unansweredFlows(flows, isLocal: { Self.local.contains($0) })
        #expect(stuck == ["10.0.1.20:40000 -> 10.0.9.9:53 (udp)", "10.0.1.20:35220 -> 10.0.9.9:80 (tcp)"])
    }

    @Test func aFindingNeedsTheCounterAndAStuckFlowAndSaysWhatIsNotKnown() throws {
        var engine = SelfSourcedSynEngine(quiet: .seconds(300), maxFindings: 50, probeLogGroup: 196)
        #expect(engine.reversePathCounterRose(by: 3, unanswered: [], at: t0) == nil, "the counter alone: spoofing, asymmetric routing")
        #expect(engine.reversePathCounterRose(by: 0, unanswered: ["x"], at: t0) == nil, "a stuck flow alone: a dead peer")
        guard case .opened(let report)? = engine.reversePathCounterRose(by: 2, unanswered: ["10.0.1.20:35220 -> 10.0.9.9:80 (tcp)"], at: t0)
        else {
            Issue.record("no finding")
            return
        }
        #expect(report.key.description == "reverse-path-counter")
        let evidence = try #require(report.evidence as? ReversePathCounterEvidence)
        #expect(evidence.frontend == "unknown" && evidence.reversePathDrops == 2)
        #expect(evidence.unknown.contains { $0.contains("the frontend") })
        #expect(report.summary.contains("frontend unknown"))
        guard case .updated(let again)? = engine.reversePathCounterRose(by: 1, unanswered: ["a", "b"], at: t0 + .seconds(1)) else {
            Issue.record("not updated")
            return
        }
        #expect((again.evidence as? ReversePathCounterEvidence)?.unansweredFlows.prefix(2) == ["a", "b"])
        #expect(engine.expire(at: t0 + .seconds(302)).count == 1)
    }
}
