import Netlink
import PathwatchCore
import Testing

@testable import PathwatchAgent

/// Issue 13: a pod's packet arriving from outside that the kernel may still deliver (IPv4
/// `rp_filter` 0/2, IPv6) is judged 400 ms later by conntrack, woken by the watcher's own
/// deadline: never confirmed → a hairpin that died on the node (a raw-table rpfilter rule);
/// confirmed → left to the conntrack correlator. `rp_filter=1` is reported at once.
@Suite("Reverse-path confirmation")
struct ReversePathConfirmationTests {
    typealias Harness = SelfSourcedSynControllerTests.Harness
    let t0 = ContinuousClock.now
    static let (pod, target, frontend) = ("10.0.1.20", "10.0.1.21", "10.0.9.9")
    static let (pod6, target6, frontend6) = ("fd00:1::20", "fd00:1::21", "fd00:9::9")

    static func flow(_ s: String, _ d: String, _ dp: UInt16, _ p: IPProtocolNumber = .tcp) -> ConntrackFlow {
        let (sa, da) = (IPAddress(s)!, IPAddress(d)!)
        return ConntrackFlow(
            family: sa.family, id: UInt32(dp),
            original: FlowTuple(source: sa, destination: da, protocolNumber: p, sourcePort: 35220, destinationPort: dp),
            reply: FlowTuple(source: da, destination: sa, protocolNumber: p, sourcePort: dp, destinationPort: 35220))
    }

    static func arrived(from source: String, to target: String, udp: Bool = false) -> NflogPacket {
        let s = IPAddress(source)!
        return NflogPacket(
            family: s.family, group: 196, prefix: SynProbeRule.reversePathPrefix, inputInterface: 2,
            header: IPPacketHeader(
                source: s, destination: IPAddress(target)!, protocolNumber: udp ? .udp : .tcp, sourcePort: 35220,
                destinationPort: udp ? 5353 : 8080, tcpFlags: udp ? 0 : 0x02))
    }

    func harness(v6: Bool = false, rpFilter: Int) -> Harness {
        let h = Harness()
        h.rpFilter = rpFilter
        h.local = LocalEndpoints(addresses: Set([Self.pod, Self.target, Self.pod6, Self.target6].map { IPAddress($0)! }))
        h.turn(at: t0)  // installed, sets filled
        h.probe.flows =
            v6
            ? [Self.flow(Self.pod6, Self.frontend6, 80), Self.flow(Self.pod6, Self.frontend6, 53, .udp)]
            : [Self.flow(Self.pod, Self.frontend, 80)]
        return h
    }

    @Test func anUnconfirmedFlowUnderLooseFilteringIsReportedWhenDue() {
        let h = harness(rpFilter: 2)
        h.probe.packets = [Self.arrived(from: Self.pod, to: Self.target)]
        h.turn(at: t0 + .seconds(1))
        #expect(h.podHairpins.isEmpty, "held, not reported from the packet alone")
        let wait = h.turn(at: t0 + .seconds(1) + .milliseconds(100))
        #expect(wait == .milliseconds(300), "woken by the watcher's deadline")
        #expect(h.podHairpins.isEmpty)
        h.turn(at: t0 + .seconds(1) + .milliseconds(400))
        #expect(h.podHairpins.count == 1)
        #expect(h.podHairpins.first?.0.frontend.description == "10.0.9.9:80")
        #expect(h.podHairpins.first?.0.localTarget.description == "10.0.1.21:8080")
        let origin = h.podHairpins.first?.1 ?? ""
        #expect(origin.contains("rp_filter=2 on eth0") && origin.contains("conntrack had not confirmed its flow 400 ms later"), "\(origin)")
        #expect(h.slice.statistics.unconfirmedReversePath == 1)
        // Nothing held: no deadline but the rules' counters, then none at all.
        #expect(h.controller.confirmations.nextDue == nil)
    }

    @Test func aConfirmedFlowIsLeftToTheConntrackCorrelator() {
        let h = harness(rpFilter: 0)
        h.probe.packets = [Self.arrived(from: Self.pod, to: Self.target)]
        h.turn(at: t0 + .seconds(1))
        h.probe.flows.append(Self.flow(Self.pod, Self.target, 8080))
        h.turn(at: t0 + .seconds(2))
        #expect(h.podHairpins.isEmpty, "delivered: whether it hurts is conntrack's to say")
        #expect(h.slice.statistics.confirmedReversePath == 1)
    }

    @Test func ipv6IsHeldWhateverTheIPv4Setting() {
        let h = harness(v6: true, rpFilter: 1)
        h.probe.packets = [Self.arrived(from: Self.pod6, to: Self.target6, udp: true)]
        h.turn(at: t0 + .seconds(1))
        #expect(h.podHairpins.isEmpty)
        h.turn(at: t0 + .seconds(2))
        let origin = h.podHairpins.first?.1 ?? ""
        #expect(origin.contains("IPv6 has no rp_filter; conntrack had not confirmed") && origin.contains("a UDP datagram"), "\(origin)")
        #expect(h.podHairpins.first?.0.protocolNumber == .udp)

        h.probe.flows.append(Self.flow(Self.pod6, Self.target6, 8080))
        h.probe.packets = [Self.arrived(from: Self.pod6, to: Self.target6)]
        h.turn(at: t0 + .seconds(3))
        h.turn(at: t0 + .seconds(4))
        #expect(h.podHairpins.count == 1, "the TCP flow was confirmed")
    }

    @Test func strictFilteringIsReportedAtOnce() {
        let h = harness(rpFilter: 1)
        h.probe.packets = [Self.arrived(from: Self.pod, to: Self.target)]
        h.turn(at: t0 + .seconds(1))
        #expect(h.podHairpins.count == 1)
        #expect(h.podHairpins.first?.1.contains("rp_filter=1 on eth0: routing drops it there") == true)
        #expect(h.controller.confirmations.nextDue == nil)
    }

    @Test func aProbeDroppedMeanwhileLeavesNothingHeldAndNothingReported() {
        let h = harness(rpFilter: 2)
        h.probe.packets = [Self.arrived(from: Self.pod, to: Self.target)]
        h.turn(at: t0 + .seconds(1))
        h.probe.receiveFails = true
        h.turn(at: t0 + .seconds(1) + .milliseconds(500))
        #expect(h.podHairpins.isEmpty)
        #expect(h.controller.confirmations.nextDue == nil)
    }
}
