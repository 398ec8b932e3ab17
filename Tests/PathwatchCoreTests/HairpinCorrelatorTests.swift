import Foundation
import Netlink
import Testing

@testable import PathwatchCore

/// The correlator on synthetic event streams: the incident's fingerprint, its negatives,
/// reordered and lost events, and the flood bound.
@Suite("Hairpin correlator")
struct HairpinCorrelatorTests {
    static let local: Set<IPAddress> = [
        IPAddress("10.0.1.20")!, IPAddress("10.0.1.21")!, IPAddress("10.0.1.10")!, IPAddress("fd00:1::20")!, IPAddress("fd00:1::21")!,
    ]
    let isLocal: (IPAddress) -> Bool = { local.contains($0) }
    let t0 = ContinuousClock.now

    func flow(_ id: UInt32, _ source: String, _ sport: UInt16, _ destination: String, _ dport: UInt16, proto: IPProtocolNumber = .tcp)
        -> ConntrackFlow
    {
        let s = IPAddress(source)!
        let d = IPAddress(destination)!
        return ConntrackFlow(
            family: s.family, id: id,
            original: FlowTuple(source: s, destination: d, protocolNumber: proto, sourcePort: sport, destinationPort: dport),
            reply: FlowTuple(source: d, destination: s, protocolNumber: proto, sourcePort: dport, destinationPort: sport))
    }

    @Test func theIncidentsFingerprintIsAHairpinThroughTheFrontend() throws {
        var correlator = HairpinCorrelator()
        let observed1 = correlator.observeNew(flow(1, "10.0.1.20", 35220, "10.0.9.9", 80), at: t0, isLocal: isLocal)
        #expect(observed1 == nil)
        let observed = correlator.observeNew(
            flow(2, "10.0.1.20", 35220, "10.0.1.21", 8080), at: t0 + .seconds(0.0001), isLocal: isLocal)
        let match = try #require(observed)
        #expect(match.frontend.description == "10.0.9.9:80")
        #expect(match.source.description == "10.0.1.20:35220")
        #expect(match.localTarget.description == "10.0.1.21:8080")
        #expect(match.hairpinFlowID == 2)
    }

    @Test func ipv6EndpointsAreBracketed() throws {
        var correlator = HairpinCorrelator()
        _ = correlator.observeNew(flow(1, "fd00:1::20", 40000, "fd00:9::9", 443), at: t0, isLocal: isLocal)
        let observed = correlator.observeNew(flow(2, "fd00:1::20", 40000, "fd00:1::21", 8443), at: t0, isLocal: isLocal)
        let match = try #require(observed)
        #expect(match.frontend.description == "[fd00:9::9]:443")
    }

    @Test func eventsReadOutOfOrderStillMatch() throws {
        var correlator = HairpinCorrelator()
        let observed2 = correlator.observeNew(flow(2, "10.0.1.20", 35220, "10.0.1.21", 8080), at: t0, isLocal: isLocal)
        #expect(observed2 == nil)
        let observed = correlator.observeNew(flow(1, "10.0.1.20", 35220, "10.0.9.9", 80), at: t0, isLocal: isLocal)
        let match = try #require(observed)
        #expect(match.frontend.description == "10.0.9.9:80")
        #expect(match.hairpinFlowID == 2)
    }

    @Test func directPodToPodTrafficIsNotAHairpin() {
        var correlator = HairpinCorrelator()
        let observed3 = correlator.observeNew(flow(1, "10.0.1.20", 35220, "10.0.1.21", 8080), at: t0, isLocal: isLocal)
        #expect(observed3 == nil)
        let observed4 = correlator.observeNew(flow(2, "10.0.1.20", 35221, "10.0.1.21", 8080), at: t0, isLocal: isLocal)
        #expect(observed4 == nil)
    }

    @Test func aFrontendThatSendsToAnotherNodeIsNotAHairpin() {
        var correlator = HairpinCorrelator()
        let observed5 = correlator.observeNew(flow(1, "10.0.1.20", 35220, "10.0.9.9", 80), at: t0, isLocal: isLocal)
        #expect(observed5 == nil)
        // The return flow goes to 10.0.2.30 on another node: nothing comes back here.
        let observed6 = correlator.observeNew(flow(2, "10.0.1.20", 35222, "10.0.9.9", 80), at: t0, isLocal: isLocal)
        #expect(observed6 == nil)
    }

    @Test func sourceNATAtTheBalancerIsNotAHairpin() {
        var correlator = HairpinCorrelator()
        _ = correlator.observeNew(flow(1, "10.0.1.20", 35220, "10.0.9.9", 80), at: t0, isLocal: isLocal)
        // The balancer rewrote the source to its own address: a different source, no match.
        let observed7 = correlator.observeNew(flow(2, "10.0.9.9", 61000, "10.0.1.21", 8080), at: t0, isLocal: isLocal)
        #expect(observed7 == nil)
    }

    @Test func theSameSourcePortForAnotherProtocolDoesNotMatch() {
        var correlator = HairpinCorrelator()
        _ = correlator.observeNew(flow(1, "10.0.1.20", 5000, "10.0.9.9", 53, proto: .udp), at: t0, isLocal: isLocal)
        let observed8 = correlator.observeNew(flow(2, "10.0.1.20", 5000, "10.0.1.21", 53), at: t0, isLocal: isLocal)
        #expect(observed8 == nil)
    }

    @Test func aReturnOutsideTheWindowDoesNotMatch() {
        var correlator = HairpinCorrelator(window: .seconds(2))
        _ = correlator.observeNew(flow(1, "10.0.1.20", 35220, "10.0.9.9", 80), at: t0, isLocal: isLocal)
        let observed9 = correlator.observeNew(
            flow(2, "10.0.1.20", 35220, "10.0.1.21", 8080), at: t0 + .seconds(3), isLocal: isLocal)
        #expect(observed9 == nil)
    }

    @Test func aLostOutboundEventLosesOnlyThatMatch() throws {
        var correlator = HairpinCorrelator()
        // The first SYN's outbound event was lost in an overrun; the retransmit's pair matches.
        _ = correlator.observeNew(flow(2, "10.0.1.20", 35220, "10.0.1.21", 8080), at: t0, isLocal: isLocal)
        _ = correlator.observeNew(flow(3, "10.0.1.20", 35230, "10.0.9.9", 80), at: t0 + .seconds(5), isLocal: isLocal)
        let observed = correlator.observeNew(flow(4, "10.0.1.20", 35230, "10.0.1.21", 8080), at: t0 + .seconds(5), isLocal: isLocal)
        #expect(try #require(observed).hairpinFlowID == 4)
    }

    @Test func aFloodOfUniqueSourcesStaysWithinTheBound() {
        var correlator = HairpinCorrelator(window: .seconds(60), capacity: 1000)
        for i in 0..<100_000 {
            _ = correlator.observeNew(
                flow(UInt32(i), "10.0.1.20", UInt16(truncatingIfNeeded: i), "10.9.\(i / 65536).\(i / 256 % 256)", 80),
                at: t0 + .seconds(Double(i) / 1e5),
                isLocal: isLocal)
            #expect(correlator.trackedCount <= 1000)
        }
        #expect(correlator.evictedForCapacity > 0)
    }

    /// An answered flow is found by its tuple and confirmed by its id: the answer of an older
    /// flow from the same (reused) source port must not forget the newer one that replaced it.
    @Test func anAnswerForgetsOnlyTheFlowItAnswers() throws {
        var correlator = HairpinCorrelator()
        _ = correlator.observeNew(flow(1, "10.0.1.20", 35220, "10.2.0.5", 443), at: t0, isLocal: isLocal)
        _ = correlator.observeNew(flow(3, "10.0.1.20", 35220, "10.0.9.9", 80), at: t0, isLocal: isLocal)
        correlator.forgetOutbound(flow(1, "10.0.1.20", 35220, "10.2.0.5", 443))
        #expect(correlator.trackedCount == 1, "flow 3 replaced flow 1 and is still remembered")
        let observed = correlator.observeNew(flow(4, "10.0.1.20", 35220, "10.0.1.21", 8080), at: t0, isLocal: isLocal)
        #expect(try #require(observed).frontend.description == "10.0.9.9:80")

        _ = correlator.observeNew(flow(5, "10.0.1.20", 36000, "10.0.9.9", 80), at: t0, isLocal: isLocal)
        correlator.forgetOutbound(flow(5, "10.0.1.20", 36000, "10.0.9.9", 80))
        #expect(correlator.observeNew(flow(6, "10.0.1.20", 36000, "10.0.1.21", 8080), at: t0, isLocal: isLocal) == nil)
    }
}
