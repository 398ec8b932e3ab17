import Foundation
import Logging
import Netlink
import PathwatchCore
import Synchronization
import Testing

@testable import PathwatchAgent

/// The self-sourced SYN slice's decisions against in-memory sources: probe or counter, retry,
/// reinstall, loss, fallback, frontend lookups and one finding per frontend.
@Suite("Self-sourced SYN controller")
struct SelfSourcedSynControllerTests {
    final class Harness {
        let probe = FakeSynProbe()
        let counter = FakeMartianCounter()
        var installs = 0
        var podHairpins: [(HairpinCorrelator.Match, String)] = []
        var installFails = false
        let slice = SelfSourcedSynSlice(settings: AgentConfig.HairpinSettings())
        let findings = FindingsRegistry()
        var controller: SelfSourcedSynController!

        init(probeWanted: Bool = true) {
            let sources = SelfSourcedSynController.Sources(
                installProbe: probeWanted
                    ? { [unowned self] in
                        installs += 1
                        if installFails { throw FakeRefusal() }
                        return probe
                    } : nil,
                martian: counter, interfaceName: { $0 == 2 ? "eth0" : nil },
                localEndpoints: { LocalEndpoints(addresses: [IPAddress("10.0.1.10")!, IPAddress("10.0.1.20")!]) },
                podHairpin: { [unowned self] match, origin in podHairpins.append((match, origin)) })
            controller = SelfSourcedSynController(
                sources: sources, slice: slice, logGroup: 196, findings: findings, logger: Logger(label: "test"),
                wallClock: { Date(timeIntervalSince1970: 0) })
        }

        func turn(at now: ContinuousClock.Instant) {
            controller.installIfDue(at: now)
            _ = controller.receive(at: now)
            controller.tick(at: now)
        }
    }

    let t0 = ContinuousClock.now

    static func syn(_ port: UInt16) -> NflogPacket {
        NflogPacket(
            family: .inet, group: 196, inputInterface: 2, hardwareAddress: [2, 0, 0, 0, 0, 1],
            header: IPPacketHeader(
                source: IPAddress("10.0.1.10")!, destination: IPAddress("10.0.1.10")!, protocolNumber: .tcp, sourcePort: port,
                destinationPort: 8080, tcpFlags: 0x02))
    }

    static func outbound(_ port: UInt16) -> ConntrackFlow {
        let (node, frontend) = (IPAddress("10.0.1.10")!, IPAddress("10.0.9.9")!)
        return ConntrackFlow(
            family: .inet, id: UInt32(port),
            original: FlowTuple(source: node, destination: frontend, protocolNumber: .tcp, sourcePort: port, destinationPort: 80),
            reply: FlowTuple(source: frontend, destination: node, protocolNumber: .tcp, sourcePort: 80, destinationPort: port))
    }

    @Test func anInstalledProbeIsTheModeAndNamesTheFrontendOncePerSource() throws {
        let h = Harness()
        h.probe.flows = [Self.outbound(40000)]
        h.probe.packets = [Self.syn(40000), Self.syn(40000), Self.syn(40000)]
        h.turn(at: t0)
        #expect(h.slice.mode == .probe)
        #expect(h.probe.lookups == 1, "retransmits reuse the cached frontend")
        let findings = h.findings.snapshot()
        #expect(findings.map(\.key) == ["10.0.9.9:80"])
        #expect(findings.first?.count == 3)
        #expect(h.slice.statistics.probePackets == 3)
    }

    struct Pods: PodNameResolver {
        func pod(at address: IPAddress) -> PodReference? {
            address == IPAddress("10.0.1.10")! ? PodReference(namespace: "shop", name: "web-0") : nil
        }
    }

    @Test func findingsNameThePodsOnceADirectoryIsGiven() throws {
        let h = Harness()
        h.slice.namePods(with: Pods())
        h.probe.flows = [Self.outbound(40000)]
        h.probe.packets = [Self.syn(40000)]
        h.turn(at: t0)
        let finding = try #require(h.findings.snapshot().first)
        #expect(finding.evidenceJSON["clientPods"] == .array([.string("shop/web-0")]))
        #expect(finding.evidenceJSON["serverPods"] == .array([.string("shop/web-0")]))
        #expect(finding.summary.contains("(pods shop/web-0 → shop/web-0)"))

        let without = Harness()
        without.probe.flows = [Self.outbound(40000)]
        without.probe.packets = [Self.syn(40000)]
        without.turn(at: t0)
        let plain = try #require(without.findings.snapshot().first)
        #expect(plain.evidenceJSON["clientPods"] == nil)
        #expect(!plain.summary.contains("pods"))
    }

    /// A pod's connection masqueraded to the node's address: the SYN's source is the node's, the
    /// client pod is the flow's original source.
    @Test func aMasqueradedPodIsNamedAsTheClient() throws {
        struct Directory: PodNameResolver {
            func pod(at address: IPAddress) -> PodReference? {
                address == IPAddress("10.0.5.7")! ? PodReference(namespace: "shop", name: "client-7d9") : nil
            }
        }
        let h = Harness()
        h.slice.namePods(with: Directory())
        let (pod, node, frontend) = (IPAddress("10.0.5.7")!, IPAddress("10.0.1.10")!, IPAddress("10.0.9.9")!)
        h.probe.flows = [
            ConntrackFlow(
                family: .inet, id: 9,
                original: FlowTuple(source: pod, destination: frontend, protocolNumber: .tcp, sourcePort: 51000, destinationPort: 80),
                reply: FlowTuple(source: frontend, destination: node, protocolNumber: .tcp, sourcePort: 80, destinationPort: 40000))
        ]
        h.probe.packets = [Self.syn(40000), Self.syn(40000)]
        h.turn(at: t0)
        let finding = try #require(h.findings.snapshot().first)
        #expect(finding.key == "10.0.9.9:80")
        #expect(finding.evidenceJSON["clientPods"] == .array([.string("shop/client-7d9")]))
        #expect(finding.evidenceJSON["serverPods"] == nil, "the target is the node's own address")
        #expect(finding.evidenceJSON["sourceEndpoints"] == .array([.string("10.0.1.10:40000")]), "the lists stay as they were")
        #expect(h.probe.lookups == 1)
    }

    @Test func aProbeThatCannotBeInstalledFallsBackAndIsRetriedEvery30Seconds() {
        let h = Harness()
        h.installFails = true
        h.turn(at: t0)
        #expect(h.slice.mode == .counter)
        h.turn(at: t0 + .seconds(29))
        #expect(h.installs == 1, "not before 30 s")
        h.installFails = false
        h.turn(at: t0 + .seconds(30))
        #expect(h.installs == 2)
        #expect(h.slice.mode == .probe)
    }

    @Test func theCounterRaisesAFindingOnlyWithoutAProbe() {
        let h = Harness()
        h.turn(at: t0)
        h.counter.value = 15
        h.turn(at: t0 + .seconds(1))
        #expect(h.findings.snapshot().isEmpty, "the probe is the detector")
        #expect(h.slice.statistics.martianPackets == 15, "the counter is still exported")
        let off = Harness(probeWanted: false)
        off.turn(at: t0)
        off.counter.value = 15
        off.turn(at: t0 + .seconds(1))
        #expect(off.findings.snapshot().map(\.key) == ["martian-source-counter"])
        #expect(off.slice.statistics.drops == 5)
        #expect(off.slice.mode == .counter)
        off.counter.value = nil
        off.turn(at: t0 + .seconds(2))
        #expect(off.slice.mode == .none, "neither probe nor counter")
    }

    @Test func reinstallsMatchesAndLossesAreCounted() {
        let h = Harness()
        h.turn(at: t0)
        h.probe.checks = [SynProbeCheck(reinstalled: true, matched: 0), SynProbeCheck(reinstalled: false, matched: 7)]
        h.probe.receiveError = .overrun
        h.turn(at: t0 + .seconds(1))
        h.turn(at: t0 + .milliseconds(1500))
        h.turn(at: t0 + .seconds(2))
        let s = h.slice.statistics
        #expect(s.probeReinstalls == 1)
        #expect(s.drops == 7)
        #expect(s.probeLost == 1)
        #expect(s.mode == .probe, "an overrun loses packets, not the probe")
    }

    @Test func aFailingProbeIsDroppedAndRetriedAfterFiveSeconds() {
        let h = Harness()
        h.turn(at: t0)
        h.probe.verifyFails = true
        h.turn(at: t0 + .seconds(1))
        #expect(h.probe.removed)
        #expect(h.slice.mode == .counter)
        h.probe.verifyFails = false
        h.turn(at: t0 + .seconds(5))
        #expect(h.installs == 1)
        h.turn(at: t0 + .seconds(6))
        #expect(h.installs == 2)
        #expect(h.slice.mode == .probe)
    }

    @Test func shutdownRemovesTheProbe() {
        let h = Harness()
        h.turn(at: t0)
        h.controller.shutdown()
        #expect(h.probe.removed)
    }

    /// Issue 13: a pod's SYN dropped by the strict reverse-path check goes to the hairpin slice,
    /// with the frontend its pod was talking to; a foreign source's does not.
    @Test func aReversePathDropFromAPodIsAHairpinAndAForeignOneIsNot() {
        let h = Harness()
        let (pod, frontend) = (IPAddress("10.0.1.20")!, IPAddress("10.0.9.9")!)
        h.probe.flows = [
            ConntrackFlow(
                family: .inet, id: 3,
                original: FlowTuple(source: pod, destination: frontend, protocolNumber: .tcp, sourcePort: 35220, destinationPort: 80),
                reply: FlowTuple(source: frontend, destination: pod, protocolNumber: .tcp, sourcePort: 80, destinationPort: 35220))
        ]
        func dropped(_ source: String) -> NflogPacket {
            NflogPacket(
                family: .inet, group: 196, prefix: SynProbeRule.reversePathPrefix, inputInterface: 2,
                header: IPPacketHeader(
                    source: IPAddress(source)!, destination: IPAddress("10.0.1.21")!, protocolNumber: .tcp, sourcePort: 35220,
                    destinationPort: 8080, tcpFlags: 0x02))
        }
        h.probe.packets = [dropped("10.0.1.20"), dropped("192.0.2.9")]
        h.turn(at: t0)
        #expect(h.podHairpins.count == 1)
        #expect(h.podHairpins.first?.0.frontend.description == "10.0.9.9:80")
        #expect(h.podHairpins.first?.0.localTarget.description == "10.0.1.21:8080")
        #expect(h.podHairpins.first?.1.contains("reverse-path check") == true)
        #expect(h.podHairpins.first?.1.contains("eth0") == true)
        #expect(h.findings.snapshot().isEmpty, "not a self-sourced SYN of the node's own address")
    }
}
