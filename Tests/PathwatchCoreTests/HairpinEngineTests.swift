import Netlink
import Testing

@testable import PathwatchCore

/// The pod-hairpin engine on typed event sequences and a test clock: outcomes, quiet periods,
/// label slots and the cap on open findings.
@Suite("Hairpin engine")
struct HairpinEngineTests {
    static let local: Set<IPAddress> = [IPAddress("10.0.1.20")!, IPAddress("10.0.1.21")!]
    let isLocal: (IPAddress) -> Bool = { local.contains($0) }
    let t0 = ContinuousClock.now

    static func settings(maxFindings: Int = 50, labels: Int = 20) -> HairpinEngine.Settings {
        HairpinEngine.Settings(
            window: .seconds(2), capacity: 1000, quiet: .seconds(300), maxFrontendLabels: labels, maxFindings: maxFindings)
    }

    func new(_ id: UInt32, _ s: String, _ sp: UInt16, _ d: String, _ dp: UInt16, status: ConntrackStatus = []) -> ConntrackEvent {
        event(.new, id, s, sp, d, dp, status: status)
    }

    func event(
        _ type: ConntrackEvent.EventType, _ id: UInt32, _ s: String, _ sp: UInt16, _ d: String, _ dp: UInt16, status: ConntrackStatus = [],
        tcpState: TCPConntrackState? = nil
    ) -> ConntrackEvent {
        let (sa, da) = (IPAddress(s)!, IPAddress(d)!)
        return ConntrackEvent(
            type: type,
            flow: ConntrackFlow(
                family: sa.family, id: id,
                original: FlowTuple(source: sa, destination: da, protocolNumber: .tcp, sourcePort: sp, destinationPort: dp),
                reply: FlowTuple(source: da, destination: sa, protocolNumber: .tcp, sourcePort: dp, destinationPort: sp), status: status,
                tcpState: tcpState))
    }

    /// The incident's sequence: the flow back to the node is reset by the client.
    func hairpin(through frontend: String, port: UInt16, id: UInt32) -> [ConntrackEvent] {
        [
            new(id, "10.0.1.20", port, frontend, 80), new(id + 1, "10.0.1.20", port, "10.0.1.21", 8080),
            event(.update, id + 1, "10.0.1.20", port, "10.0.1.21", 8080, status: [.seenReply], tcpState: .close),
        ]
    }

    @Test func aHairpinOpensAFindingKeyedByTheFrontendEndpoint() throws {
        var engine = HairpinEngine(settings: Self.settings())
        let outcomes = engine.observe(hairpin(through: "10.0.9.9", port: 35220, id: 1), at: t0, isLocal: isLocal)
        guard case .opened(let report) = try #require(outcomes.first) else {
            Issue.record("expected an opened finding, got \(outcomes)")
            return
        }
        #expect(report.key == .frontend(HairpinCorrelator.Endpoint(address: IPAddress("10.0.9.9")!, port: 80)))
        #expect(report.key.description == "10.0.9.9:80")
        let evidence = try #require(report.evidence as? HairpinEvidence)
        #expect(evidence.hairpinnedFlows == 1)
        #expect(evidence.localTargets == ["10.0.1.21:8080"])
        #expect(engine.statistics.flows == ["10.0.9.9:80": 1])
        let again = engine.observe(hairpin(through: "10.0.9.9", port: 35221, id: 3), at: t0 + .seconds(1), isLocal: isLocal)
        guard case .updated = try #require(again.first) else {
            Issue.record("expected an update, got \(again)")
            return
        }
    }

    @Test func aHairpinIsCountedAsUnansweredAndAnotherRefreshesItsFinding() throws {
        var engine = HairpinEngine(settings: Self.settings())
        _ = engine.observe(hairpin(through: "10.0.9.9", port: 35220, id: 1), at: t0, isLocal: isLocal)
        #expect(engine.statistics.unanswered == ["10.0.9.9:80": 1])
        let outcomes = engine.observe(hairpin(through: "10.0.9.9", port: 35221, id: 3), at: t0 + .seconds(1), isLocal: isLocal)
        guard case .updated(let report) = try #require(outcomes.first) else {
            Issue.record("expected an update, got \(outcomes)")
            return
        }
        #expect(report.occurrences == 1)
        #expect((report.evidence as? HairpinEvidence)?.unansweredFlows == 2)
        #expect(engine.statistics.flows == ["10.0.9.9:80": 2])
    }

    @Test func aQuietFrontendClosesOnTheMonotonicClockAndGivesBackItsLabel() throws {
        var engine = HairpinEngine(settings: Self.settings(labels: 1))
        _ = engine.observe(hairpin(through: "10.0.9.9", port: 35220, id: 1), at: t0, isLocal: isLocal)
        _ = engine.observe(hairpin(through: "10.0.9.8", port: 35221, id: 3), at: t0, isLocal: isLocal)
        #expect(engine.statistics.flows == ["10.0.9.9:80": 1, "other": 1], "one slot: the second frontend is other")
        #expect(engine.expire(at: t0 + .seconds(300)).isEmpty, "not quiet long enough yet")
        let closed = engine.expire(at: t0 + .seconds(301))
        #expect(closed.count == 2)
        #expect(engine.openFindings == 0)
        #expect(engine.statistics.flows == ["other": 1], "the named series went with its finding")
        _ = engine.observe(hairpin(through: "10.0.9.7", port: 35222, id: 5), at: t0 + .seconds(302), isLocal: isLocal)
        #expect(engine.statistics.flows["10.0.9.7:80"] == 1, "the freed slot names the next frontend")
    }

    /// The conntrack watcher rests (wakes every 10 s, not every second) only while this holds.
    @Test func theEngineIsIdleOnlyWithNothingRememberedAndNoFindingOpen() {
        var engine = HairpinEngine(settings: Self.settings())
        #expect(engine.isIdle)
        _ = engine.observe([new(1, "10.0.1.20", 40000, "10.2.0.5", 443)], at: t0, isLocal: isLocal)
        #expect(!engine.isIdle, "an outbound flow is remembered for the window")
        _ = engine.expire(at: t0 + .seconds(3))
        #expect(engine.isIdle, "forgotten after the window")
        _ = engine.observe(hairpin(through: "10.0.9.9", port: 35220, id: 10), at: t0 + .seconds(4), isLocal: isLocal)
        _ = engine.expire(at: t0 + .seconds(10))
        #expect(engine.openFindings == 1)
        #expect(!engine.isIdle, "an open finding must be closed after its quiet period")
        _ = engine.expire(at: t0 + .seconds(400))
        #expect(engine.isIdle)
    }

    /// Issue 17 item 9: 20k distinct frontends cost one finding beyond the cap, counted.
    @Test func openFindingsAreCappedAndTheOverflowIsOneFinding() {
        var engine = HairpinEngine(settings: Self.settings(maxFindings: 3))
        var opened = 0
        for i in 0..<2000 {
            let frontend = "10.9.\(i / 250).\(i % 250)"
            for outcome in engine.observe(hairpin(through: frontend, port: UInt16(20000 + i), id: UInt32(2 * i)), at: t0, isLocal: isLocal)
            {
                if case .opened = outcome { opened += 1 }
            }
        }
        #expect(opened == 4, "three frontends and the overflow finding")
        #expect(engine.openFindings == 4)
        #expect(engine.statistics.overflowFlows == 1997)
        #expect(engine.statistics.flows.count <= 21, "labels stay bounded")
    }

    /// The probe logs every retransmitted SYN of a hairpin conntrack reports once: one
    /// connection, counted once, its evidence saying where the packet was seen.
    @Test func theProbeAndConntrackCountOneConnectionOnce() throws {
        var engine = HairpinEngine(settings: Self.settings())
        _ = engine.observe(hairpin(through: "10.0.9.9", port: 35220, id: 1), at: t0, isLocal: isLocal)
        let match = HairpinCorrelator.Match(
            frontend: HairpinCorrelator.Endpoint(address: IPAddress("10.0.9.9")!, port: 80),
            source: HairpinCorrelator.Endpoint(address: IPAddress("10.0.1.20")!, port: 35220),
            localTarget: HairpinCorrelator.Endpoint(address: IPAddress("10.0.1.21")!, port: 8080), protocolNumber: .tcp,
            hairpinFlowID: nil, time: t0)
        for retransmit in 1...3 {
            _ = engine.observedDrop(match, origin: "probe: on eth1", at: t0 + .seconds(retransmit))
        }
        #expect(engine.statistics.flows == ["10.0.9.9:80": 1])
        var other = match
        other.source.port = 35221
        let outcome = engine.observedDrop(other, origin: "probe: on eth1", at: t0 + .seconds(5))
        guard case .updated(let report) = try #require(outcome) else {
            Issue.record("expected an update")
            return
        }
        #expect(engine.statistics.flows == ["10.0.9.9:80": 2], "another connection counts")
        #expect((report.evidence as? HairpinEvidence)?.hairpinnedFlows == 2)
        #expect(JSONValue(encoding: report.evidence).objectMembers["origin"] == .string("probe: on eth1"))
    }
}

/// Pod names in hairpin evidence: added when a directory knows the addresses, absent otherwise
/// (so `/findings` without Kubernetes is byte for byte what it was).
@Suite("Hairpin evidence names pods")
struct HairpinEvidencePodNameTests {
    struct Directory: PodNameResolver {
        var pods: [IPAddress: PodReference]
        func pod(at address: IPAddress) -> PodReference? { pods[address] }
    }

    func evidence() -> HairpinEvidence {
        let frontend = HairpinCorrelator.Endpoint(address: IPAddress("10.0.9.9")!, port: 80)
        var evidence = HairpinEvidence(frontend: frontend)
        evidence.add(
            HairpinCorrelator.Match(
                frontend: frontend, source: .init(address: IPAddress("10.0.1.20")!, port: 35220),
                localTarget: .init(address: IPAddress("10.0.1.21")!, port: 8080), protocolNumber: .tcp, hairpinFlowID: 2,
                time: .now))
        return evidence
    }

    @Test func knownPodsAreNamedInEvidenceAndSummary() {
        var named = evidence()
        named.namePods(
            Directory(pods: [
                IPAddress("10.0.1.20")!: PodReference(namespace: "shop", name: "client-7d9"),
                IPAddress("10.0.1.21")!: PodReference(namespace: "shop", name: "server-0"),
            ]))
        #expect(named.clientPods == ["shop/client-7d9"])
        #expect(named.serverPods == ["shop/server-0"])
        #expect(named.summary.contains("pods shop/client-7d9 → shop/server-0"))
        let json = JSONValue(encoding: named).objectMembers
        #expect(json["clientPods"] == .array([.string("shop/client-7d9")]))
    }

    @Test func withoutKnownPodsTheEvidenceIsUnchanged() {
        var unnamed = evidence()
        unnamed.namePods(Directory(pods: [:]))
        #expect(unnamed == evidence())
        let json = JSONValue(encoding: unnamed).objectMembers
        #expect(json["clientPods"] == nil && json["serverPods"] == nil)
    }
}

/// Pod names in self-sourced SYN (instance hairpin) evidence: the same shape as the hairpin's.
@Suite("Self-sourced SYN evidence names pods")
struct SelfSourcedSynEvidencePodNameTests {
    func evidence() -> SelfSourcedSynEvidence {
        let frontend = HairpinCorrelator.Endpoint(address: IPAddress("10.0.9.9")!, port: 80)
        var evidence = SelfSourcedSynEvidence(frontend: frontend, detection: "probe")
        evidence.add(
            SelfSourcedSyn(
                source: .init(address: IPAddress("10.0.1.20")!, port: 35220), target: .init(address: IPAddress("10.0.1.21")!, port: 8080),
                frontend: frontend, interface: "eth0", senderMAC: nil))
        return evidence
    }

    @Test func knownPodsAreNamedInEvidenceAndSummary() {
        var named = evidence()
        named.namePods(
            HairpinEvidencePodNameTests.Directory(pods: [
                IPAddress("10.0.1.20")!: PodReference(namespace: "shop", name: "client-7d9"),
                IPAddress("10.0.1.21")!: PodReference(namespace: "shop", name: "server-0"),
            ]))
        #expect(named.clientPods == ["shop/client-7d9"])
        #expect(named.serverPods == ["shop/server-0"])
        #expect(named.summary.contains("(10.0.1.20:35220 → 10.0.1.21:8080) (pods shop/client-7d9 → shop/server-0) and fail"))
        let json = JSONValue(encoding: named).objectMembers
        #expect(json["clientPods"] == .array([.string("shop/client-7d9")]))
        #expect(json["serverPods"] == .array([.string("shop/server-0")]))
    }

    @Test func withoutKnownPodsTheEvidenceIsUnchanged() {
        var unnamed = evidence()
        unnamed.namePods(HairpinEvidencePodNameTests.Directory(pods: [:]))
        #expect(unnamed == evidence())
        #expect(unnamed.summary == evidence().summary)
        let json = JSONValue(encoding: unnamed).objectMembers
        #expect(json["clientPods"] == nil && json["serverPods"] == nil)
    }
}
