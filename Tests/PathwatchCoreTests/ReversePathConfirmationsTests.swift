import Netlink
import Testing

@testable import PathwatchCore

/// Issue 13: probe packets the kernel may still deliver (IPv4 `rp_filter` 0/2, IPv6) wait for
/// conntrack; a flow it never confirmed died on the node, a confirmed one is left to the
/// conntrack correlator. Bounded, deduplicated, on a test clock.
@Suite("Reverse-path confirmations")
struct ReversePathConfirmationsTests {
    typealias Endpoint = HairpinCorrelator.Endpoint
    let t0 = ContinuousClock.now

    func match(port: UInt16 = 35220, protocolNumber: IPProtocolNumber = .tcp, at time: ContinuousClock.Instant) -> HairpinCorrelator.Match {
        HairpinCorrelator.Match(
            frontend: Endpoint(address: IPAddress("10.0.9.9")!, port: 80), source: Endpoint(address: IPAddress("10.0.1.20")!, port: port),
            localTarget: Endpoint(address: IPAddress("10.0.1.21")!, port: 8080), protocolNumber: protocolNumber, hairpinFlowID: nil,
            time: time)
    }

    static func flow(_ s: String, _ sp: UInt16, _ d: String, _ dp: UInt16, _ p: IPProtocolNumber = .tcp) -> ConntrackFlow {
        let (sa, da) = (IPAddress(s)!, IPAddress(d)!)
        return ConntrackFlow(
            family: sa.family, id: UInt32(sp),
            original: FlowTuple(source: sa, destination: da, protocolNumber: p, sourcePort: sp, destinationPort: dp),
            reply: FlowTuple(source: da, destination: sa, protocolNumber: p, sourcePort: dp, destinationPort: sp))
    }

    @Test func aHeldPacketFallsDueAfterTheDelayAndNothingHeldIsNoDeadline() {
        var set = ReversePathConfirmations(delay: .milliseconds(400))
        #expect(set.nextDue == nil, "an idle agent has no timer")
        #expect(set.hold(match(at: t0), family: .inet, interface: "eth1", rpFilter: 2, at: t0) == .held)
        #expect(set.hold(match(port: 35221, at: t0), family: .inet, interface: "eth1", rpFilter: 2, at: t0 + .milliseconds(100)) == .held)
        #expect(set.nextDue == t0 + .milliseconds(400))
        #expect(set.takeDue(at: t0 + .milliseconds(399)).isEmpty)
        let first = set.takeDue(at: t0 + .milliseconds(400))
        #expect(first.map(\.match.source.port) == [35220])
        #expect(first.first?.rpFilter == 2 && first.first?.interface == "eth1")
        #expect(set.nextDue == t0 + .milliseconds(500))
        #expect(set.takeDue(at: t0 + .seconds(2)).map(\.match.source.port) == [35221])
        #expect(set.nextDue == nil && set.count == 0)
    }

    @Test func aRetransmittedSynOrTheNextDatagramIsNotHeldTwice() {
        var set = ReversePathConfirmations()
        #expect(set.hold(match(at: t0), family: .inet6, interface: "eth1", rpFilter: nil, at: t0) == .held)
        #expect(set.hold(match(at: t0), family: .inet6, interface: "eth1", rpFilter: nil, at: t0 + .milliseconds(200)) == .repeated)
        #expect(set.hold(match(protocolNumber: .udp, at: t0), family: .inet6, interface: "eth1", rpFilter: nil, at: t0) == .held)
        #expect(set.count == 2)
        _ = set.takeDue(at: t0 + .seconds(1))
        #expect(set.hold(match(at: t0), family: .inet6, interface: "eth1", rpFilter: nil, at: t0 + .seconds(1)) == .held)
    }

    @Test func aFloodIsBoundedCountedAndSaidOncePerFlood() {
        var set = ReversePathConfirmations(capacity: 2)
        for port: UInt16 in [1, 2] {
            #expect(set.hold(match(port: port, at: t0), family: .inet, interface: nil, rpFilter: 0, at: t0) == .held)
        }
        #expect(set.hold(match(port: 3, at: t0), family: .inet, interface: nil, rpFilter: 0, at: t0) == .full(first: true))
        #expect(set.hold(match(port: 4, at: t0), family: .inet, interface: nil, rpFilter: 0, at: t0) == .full(first: false))
        #expect(set.overflowed == 2 && set.count == 2)
        _ = set.takeDue(at: t0 + .seconds(1))
        for port: UInt16 in [5, 6] {
            #expect(set.hold(match(port: port, at: t0), family: .inet, interface: nil, rpFilter: 0, at: t0) == .held)
        }
        #expect(set.hold(match(port: 7, at: t0), family: .inet, interface: nil, rpFilter: 0, at: t0) == .full(first: true), "a new flood")
        set.removeAll()
        #expect(set.nextDue == nil && set.overflowed == 3)
    }

    @Test func onlyThePacketsOwnFlowAsTheOriginalTupleConfirmsIt() {
        let pending = ReversePathConfirmations.Pending(
            match: match(at: t0), family: .inet, interface: "eth1", rpFilter: 2, due: t0 + .milliseconds(400))
        let outbound = Self.flow("10.0.1.20", 35220, "10.0.9.9", 80)
        let hairpin = Self.flow("10.0.1.20", 35220, "10.0.1.21", 8080)
        #expect(!ReversePathConfirmations.isConfirmed(pending, among: [outbound]), "only the way out: the packet died here")
        #expect(ReversePathConfirmations.isConfirmed(pending, among: [outbound, hairpin]))
        #expect(!ReversePathConfirmations.isConfirmed(pending, among: [Self.flow("10.0.1.20", 35220, "10.0.1.21", 8080, .udp)]))
        #expect(!ReversePathConfirmations.isConfirmed(pending, among: [Self.flow("10.0.1.20", 35220, "10.0.1.21", 9090)]))
        // Found through its reply tuple (a pod masqueraded to the source): not the packet's flow.
        let masqueraded = ConntrackFlow(
            family: .inet, id: 9,
            original: FlowTuple(
                source: IPAddress("10.0.1.30")!, destination: IPAddress("10.0.1.21")!, protocolNumber: .tcp, sourcePort: 5,
                destinationPort: 8080),
            reply: FlowTuple(
                source: IPAddress("10.0.1.21")!, destination: IPAddress("10.0.1.20")!, protocolNumber: .tcp, sourcePort: 8080,
                destinationPort: 35220))
        #expect(!ReversePathConfirmations.isConfirmed(pending, among: [masqueraded]))
    }

    @Test func onlyIPv4StrictFilteringDropsForCertain() {
        #expect(ReversePathVerdict.dropsForCertain(family: .inet, rpFilter: 1))
        for mode in [0, 2, nil] as [Int?] { #expect(!ReversePathVerdict.dropsForCertain(family: .inet, rpFilter: mode)) }
        #expect(!ReversePathVerdict.dropsForCertain(family: .inet6, rpFilter: 1))
    }

    @Test func anUnconfirmedFlowsOriginSaysItDiedBeforeConntrack() {
        let loose = ReversePathVerdict.unconfirmedOrigin(family: .inet, interface: "eth1", rpFilter: 2, after: .milliseconds(400))
        #expect(loose.contains("rp_filter=2 on eth1 lets it through routing") && loose.contains("not confirmed its flow 400 ms later"))
        #expect(loose.contains("raw-table rpfilter") && loose.contains("fails the strict reverse-path check"))
        let v6 = ReversePathVerdict.unconfirmedOrigin(
            family: .inet6, interface: "eth1", rpFilter: nil, udp: true, after: .milliseconds(400))
        #expect(v6.contains("IPv6 has no rp_filter; conntrack") && v6.contains("a UDP datagram"))
        let unknown = ReversePathVerdict.unconfirmedOrigin(family: .inet, interface: "eth0", rpFilter: nil, after: .milliseconds(400))
        #expect(unknown.contains("rp_filter of eth0 unreadable; conntrack"))
    }
}
