import Netlink
import Testing

@testable import PathwatchCore

/// Issue 13: a hairpin needs evidence of harm. Recorded-style event sequences of healthy nodes
/// (port reuse, Service VIPs DNAT'd on the node, gossip from a fixed port, replies that come
/// back) are never a hairpin; the incident's sequences are.
@Suite("Hairpin evidence of harm")
struct HairpinHarmTests {
    static let local: Set<IPAddress> = ["10.0.1.10", "10.0.1.20", "10.0.1.21"].map { IPAddress($0)! }.reduce(into: []) { $0.insert($1) }
    let isLocal: (IPAddress) -> Bool = { local.contains($0) }
    let t0 = ContinuousClock.now

    /// One conntrack event; `replyFrom` is where replies come from when the node rewrote the
    /// destination (DNAT), else the destination itself.
    func ev(
        _ type: ConntrackEvent.EventType, _ id: UInt32, _ s: String, _ sp: UInt16, _ d: String, _ dp: UInt16,
        proto: IPProtocolNumber = .tcp,
        replyFrom: (String, UInt16)? = nil, status: ConntrackStatus = [], state: TCPConntrackState? = nil
    ) -> ConntrackEvent {
        let (sa, da) = (IPAddress(s)!, IPAddress(d)!)
        let (ra, rp) = replyFrom.map { (IPAddress($0.0)!, $0.1) } ?? (da, dp)
        return ConntrackEvent(
            type: type,
            flow: ConntrackFlow(
                family: .inet, id: id,
                original: FlowTuple(source: sa, destination: da, protocolNumber: proto, sourcePort: sp, destinationPort: dp),
                reply: FlowTuple(source: ra, destination: sa, protocolNumber: proto, sourcePort: rp, destinationPort: sp), status: status,
                tcpState: proto == .tcp ? state : nil))
    }

    func run(_ events: [ConntrackEvent]) -> [HairpinCorrelator.Match] {
        var detector = HairpinDetector(window: .seconds(2), capacity: 1000)
        return events.enumerated().compactMap { i, e in detector.observe(e, at: t0 + .milliseconds(i), isLocal: isLocal) }
    }

    @Test func theIncidentIsAHairpinWhenTheFlowBackIsReset() throws {
        let found = run([
            ev(.new, 1, "10.0.1.20", 35220, "10.0.9.9", 80, state: .synSent),
            ev(.new, 2, "10.0.1.20", 35220, "10.0.1.21", 8080, state: .synSent),
            ev(.update, 2, "10.0.1.20", 35220, "10.0.1.21", 8080, status: [.seenReply], state: .synReceived),
            ev(.update, 2, "10.0.1.20", 35220, "10.0.1.21", 8080, status: [.seenReply], state: .close),
            ev(.destroy, 2, "10.0.1.20", 35220, "10.0.1.21", 8080, status: [.seenReply], state: .close),
        ])
        #expect(found.count == 1, "once, at the reset")
        #expect(try #require(found.first).frontend.description == "10.0.9.9:80")
    }

    @Test func anOutboundFlowThatDiesUnansweredProvesItToo() {
        let found = run([
            ev(.new, 1, "10.0.1.20", 35220, "10.0.9.9", 80), ev(.new, 2, "10.0.1.20", 35220, "10.0.1.21", 8080),
            ev(.destroy, 1, "10.0.1.20", 35220, "10.0.9.9", 80),
        ])
        #expect(found.count == 1)
    }

    /// UDP through a balancer that keeps the client address: the local target answers, the
    /// frontend never does.
    @Test func aUDPHairpinIsProvedByTheLocalTargetsAnswer() {
        let found = run([
            ev(.new, 1, "10.0.1.20", 5000, "10.0.9.9", 53, proto: .udp), ev(.new, 2, "10.0.1.20", 5000, "10.0.1.21", 53, proto: .udp),
            ev(.update, 2, "10.0.1.20", 5000, "10.0.1.21", 53, proto: .udp, status: [.seenReply]),
            ev(.destroy, 2, "10.0.1.20", 5000, "10.0.1.21", 53, proto: .udp, status: [.seenReply]),
        ])
        #expect(found.count == 1)
    }

    /// syslog or StatsD from one socket to a remote and a local collector: one-way is normal.
    @Test func oneWayUDPFromAFixedPortIsNotAHairpin() {
        var detector = HairpinDetector(window: .seconds(2), capacity: 100)
        var found: [HairpinCorrelator.Match] = []
        let events = [
            ev(.new, 1, "10.0.1.20", 8125, "10.2.0.5", 8125, proto: .udp), ev(.new, 2, "10.0.1.20", 8125, "10.0.1.21", 8125, proto: .udp),
            ev(.destroy, 2, "10.0.1.20", 8125, "10.0.1.21", 8125, proto: .udp),
            ev(.destroy, 1, "10.0.1.20", 8125, "10.2.0.5", 8125, proto: .udp),
        ]
        for (i, e) in events.enumerated() {
            if let match = detector.observe(e, at: t0 + .milliseconds(i), isLocal: isLocal) { found.append(match) }
        }
        found += detector.expire(at: t0 + .seconds(30))
        #expect(found.isEmpty)
    }

    /// Pods on one bridge answer each other past the node's conntrack: no reset to see, only a
    /// SYN that nobody answers.
    @Test func aTCPPairUnansweredForThreeSecondsIsAHairpin() {
        var detector = HairpinDetector(window: .seconds(2), capacity: 100)
        let bridge = LocalEndpoints(subnets: [IPPrefix("10.244.1.0/24")!])
        _ = detector.observe(ev(.new, 1, "10.244.1.2", 40000, "10.0.9.9", 80), at: t0, isLocal: bridge.contains)
        _ = detector.observe(ev(.new, 2, "10.244.1.2", 40000, "10.244.1.3", 8080), at: t0, isLocal: bridge.contains)
        #expect(detector.expire(at: t0 + .seconds(2)).isEmpty, "not yet")
        #expect(detector.expire(at: t0 + .seconds(3)).count == 1)
        #expect(detector.trackedCount == 0)
    }

    @Test func aReusedPortToARemoteAndThenALocalPodIsNotAHairpin() {
        #expect(
            run([
                ev(.new, 1, "10.0.1.20", 40000, "10.2.0.5", 443, state: .synSent),
                ev(.update, 1, "10.0.1.20", 40000, "10.2.0.5", 443, status: [.seenReply], state: .synReceived),
                ev(.update, 1, "10.0.1.20", 40000, "10.2.0.5", 443, status: [.seenReply, .assured], state: .established),
                ev(.new, 2, "10.0.1.20", 40000, "10.0.1.21", 8080, state: .synSent),
                ev(.update, 2, "10.0.1.20", 40000, "10.0.1.21", 8080, status: [.seenReply, .assured], state: .established),
                ev(.destroy, 2, "10.0.1.20", 40000, "10.0.1.21", 8080, status: [.seenReply, .assured], state: .close),
            ]).isEmpty)
    }

    /// The remote answers only after the local flow appeared: still a reused port.
    @Test func anAnswerArrivingAfterThePairingClearsIt() {
        #expect(
            run([
                ev(.new, 1, "10.0.1.20", 40000, "10.2.0.5", 443), ev(.new, 2, "10.0.1.20", 40000, "10.0.1.21", 8080),
                ev(.update, 1, "10.0.1.20", 40000, "10.2.0.5", 443, status: [.seenReply], state: .synReceived),
                ev(.update, 2, "10.0.1.20", 40000, "10.0.1.21", 8080, status: [.seenReply], state: .close),
            ]).isEmpty)
    }

    @Test func aServiceVIPDNATedOnThisNodeIsNeverAFrontend() {
        #expect(
            run([
                // ClusterIP 10.96.0.10:80 → local pod 10.0.1.21:8080, DNAT'd here, refused.
                ev(.new, 1, "10.0.1.20", 41000, "10.96.0.10", 80, replyFrom: ("10.0.1.21", 8080)),
                ev(.new, 2, "10.0.1.20", 41000, "10.0.1.10", 8080),
                ev(.update, 2, "10.0.1.20", 41000, "10.0.1.10", 8080, state: .close),
                // NodePort on the node's own address → local pod, and a reused port to a remote.
                ev(.new, 3, "10.0.1.20", 42000, "10.2.0.5", 80),
                ev(.new, 4, "10.0.1.20", 42000, "10.0.1.10", 30080, replyFrom: ("10.0.1.21", 8080)),
                ev(.update, 4, "10.0.1.20", 42000, "10.0.1.10", 30080, replyFrom: ("10.0.1.21", 8080), state: .close),
            ]).isEmpty)
    }

    @Test func gossipFromAFixedPortIsNotAHairpin() {
        #expect(
            run([
                ev(.new, 1, "10.0.1.20", 7946, "10.2.0.5", 7946, proto: .udp),
                ev(.update, 1, "10.0.1.20", 7946, "10.2.0.5", 7946, proto: .udp, status: [.seenReply]),
                ev(.new, 2, "10.0.1.20", 7946, "10.0.1.21", 7946, proto: .udp),
                ev(.update, 2, "10.0.1.20", 7946, "10.0.1.21", 7946, proto: .udp, status: [.seenReply]),
                ev(.destroy, 2, "10.0.1.20", 7946, "10.0.1.21", 7946, proto: .udp, status: [.seenReply]),
                ev(.destroy, 1, "10.0.1.20", 7946, "10.2.0.5", 7946, proto: .udp, status: [.seenReply]),
            ]).isEmpty)
    }

    @Test func aHairpinWhoseRepliesComeBackIsNotReported() {
        #expect(
            run([
                ev(.new, 1, "10.0.1.20", 35220, "10.0.9.9", 80), ev(.new, 2, "10.0.1.20", 35220, "10.0.1.21", 8080),
                ev(.update, 2, "10.0.1.20", 35220, "10.0.1.21", 8080, status: [.seenReply, .assured], state: .established),
                ev(.destroy, 2, "10.0.1.20", 35220, "10.0.1.21", 8080, status: [.seenReply, .assured], state: .close),
            ]).isEmpty)
    }

    @Test func pairsWithoutEvidenceAreForgottenAndStayBounded() {
        var detector = HairpinDetector(window: .seconds(2), capacity: 100)
        for i in 0..<1000 {
            let port = UInt16(20000 + i)
            _ = detector.observe(ev(.new, UInt32(2 * i), "10.0.1.20", port, "10.9.0.1", 80), at: t0, isLocal: isLocal)
            _ = detector.observe(ev(.new, UInt32(2 * i + 1), "10.0.1.20", port, "10.0.1.21", 80), at: t0, isLocal: isLocal)
        }
        #expect(detector.trackedCount <= 200)
        _ = detector.expire(at: t0 + HairpinDetector.candidateLifetime + .seconds(1))
        #expect(detector.trackedCount == 0)
    }
}

/// Issue 13: "local" as the node routes: pods behind a bridge count, the uplink's subnet does not.
@Suite("Hosted endpoints")
struct LocalEndpointsTests {
    @Test func aBridgesSubnetIsHostedHereAndAnUplinksIsNot() {
        let (uplink, bridge, lo) = (InterfaceIndex(2), InterfaceIndex(3), InterfaceIndex(1))
        let links = [
            lo: Link(index: lo, name: "lo", flags: [.loopback]), uplink: Link(index: uplink, name: "eth0", kind: "veth"),
            bridge: Link(index: bridge, name: "cni0", kind: "bridge"),
            InterfaceIndex(4): Link(index: InterfaceIndex(4), name: "ens5"),
        ]
        let addresses = [
            InterfaceAddress(interface: uplink, address: IPAddress("10.0.1.10")!, prefixLength: 24),
            InterfaceAddress(interface: bridge, address: IPAddress("10.244.1.1")!, prefixLength: 24),
            InterfaceAddress(interface: bridge, address: IPAddress("fe80::1")!, prefixLength: 64),
            InterfaceAddress(interface: lo, address: IPAddress("127.0.0.1")!, prefixLength: 8),
            InterfaceAddress(interface: InterfaceIndex(4), address: IPAddress("10.0.2.10")!, prefixLength: 24),
        ]
        let subnets = LocalEndpoints.hostedSubnets(addresses: addresses, links: links, uplinks: [uplink])
        #expect(subnets == [IPPrefix("10.244.1.0/24")!], "not the uplink, loopback, link-local or a physical NIC")
        let local = LocalEndpoints(addresses: [IPAddress("10.0.1.10")!], subnets: subnets)
        #expect(local.contains(IPAddress("10.244.1.3")!))
        #expect(local.contains(IPAddress("10.0.1.10")!))
        #expect(!local.contains(IPAddress("10.0.1.50")!), "the balancer on the uplink's subnet")
        #expect(!local.contains(IPAddress("fd00::3")!))
    }
}
