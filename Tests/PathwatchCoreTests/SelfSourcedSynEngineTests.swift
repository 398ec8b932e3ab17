import Netlink
import Testing

@testable import PathwatchCore

/// The self-sourced SYN engine and the frontend lookup budget, on a test clock.
@Suite("Self-sourced SYN engine")
struct SelfSourcedSynEngineTests {
    let t0 = ContinuousClock.now
    typealias Endpoint = HairpinCorrelator.Endpoint

    func syn(port: UInt16, frontend: String?) -> SelfSourcedSyn {
        let node = IPAddress("10.0.1.10")!
        return SelfSourcedSyn(
            source: Endpoint(address: node, port: port), target: Endpoint(address: node, port: 8080),
            frontend: frontend.map { Endpoint(address: IPAddress($0)!, port: 80) }, interface: "eth0", senderMAC: nil)
    }

    @Test func oneFindingPerFrontendAndOneForTheUnnamed() {
        var engine = SelfSourcedSynEngine(quiet: .seconds(300), maxFindings: 50, probeLogGroup: 196)
        var keys: [String] = []
        for outcome in [
            engine.logged(syn(port: 1, frontend: "10.0.9.9"), at: t0), engine.logged(syn(port: 1, frontend: "10.0.9.9"), at: t0),
            engine.logged(syn(port: 2, frontend: nil), at: t0),
        ] {
            if case .opened(let report) = outcome { keys.append(report.key.description) }
        }
        #expect(keys == ["10.0.9.9:80", "unknown"])
        #expect(engine.openFindings == 2)
    }

    @Test func counterRisesFeedOneNodeFindingAndNothingForNoRise() throws {
        var engine = SelfSourcedSynEngine(quiet: .seconds(300), maxFindings: 50, probeLogGroup: 196)
        #expect(engine.counterRose(by: 0, at: t0) == nil)
        let first = engine.counterRose(by: 3, at: t0)
        guard case .opened(let report) = try #require(first) else {
            Issue.record("expected an opened finding")
            return
        }
        #expect(report.key == .martianCounter)
        #expect(report.occurrences == 3)
        #expect((report.evidence as? MartianCounterEvidence)?.inMartianSrcIncrease == 3)
        let second = engine.counterRose(by: 1, at: t0 + .seconds(1))
        guard case .updated = try #require(second) else {
            Issue.record("expected an update")
            return
        }
    }

    @Test func findingsCloseAfterTheQuietPeriod() {
        var engine = SelfSourcedSynEngine(quiet: .seconds(10), maxFindings: 50, probeLogGroup: 196)
        _ = engine.logged(syn(port: 1, frontend: "10.0.9.9"), at: t0)
        _ = engine.counterRose(by: 2, at: t0 + .seconds(5))
        #expect(engine.expire(at: t0 + .seconds(10)).isEmpty)
        #expect(engine.expire(at: t0 + .seconds(11)).count == 1)
        #expect(engine.expire(at: t0 + .seconds(16)).count == 1)
        #expect(engine.openFindings == 0)
    }

    @Test func openFindingsAreCapped() {
        var engine = SelfSourcedSynEngine(quiet: .seconds(300), maxFindings: 2, probeLogGroup: 196)
        for i in 0..<500 { _ = engine.logged(syn(port: UInt16(i), frontend: "10.9.\(i / 250).\(i % 250)"), at: t0) }
        #expect(engine.openFindings == 3)
        #expect(engine.overflowSyns == 498)
    }

    @Test func lookupsAreCachedPerSourceAndBoundedPerSecond() {
        var lookups = FrontendLookups(perSecond: 2)
        let a = Endpoint(address: IPAddress("10.0.1.10")!, port: 1)
        let frontend = Endpoint(address: IPAddress("10.0.9.9")!, port: 80)
        #expect(lookups.decide(for: a, at: t0) == .lookUp)
        lookups.remember(frontend, for: a, at: t0)
        #expect(lookups.decide(for: a, at: t0) == .cached(frontend))
        let b = Endpoint(address: IPAddress("10.0.1.10")!, port: 2)
        #expect(lookups.decide(for: b, at: t0) == .lookUp)
        #expect(lookups.decide(for: b, at: t0) == .skip, "two lookups a second")
        #expect(lookups.decide(for: b, at: t0 + .seconds(1)) == .lookUp)
        #expect(lookups.decide(for: a, at: t0 + .seconds(11)) == .lookUp, "the cache entry aged out")
    }
}
