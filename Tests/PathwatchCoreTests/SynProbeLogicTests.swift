import Foundation
import Netlink
import Testing

@testable import PathwatchCore

/// The per-packet probe's pure parts: the rule it installs, how a logged SYN finds its
/// frontend among conntrack flows, what the finding says, and the configuration keys.
@Suite("Self-sourced SYN probe")
struct SynProbeLogicTests: ConfigParsing {
    static let local: Set<IPAddress> = [IPAddress("10.0.1.10")!, IPAddress("fd00:1::10")!]
    let isLocal: (IPAddress) -> Bool = { local.contains($0) }

    func flow(_ id: UInt32, _ source: String, _ sport: UInt16, _ destination: String, _ dport: UInt16, replied: Bool = false)
        -> ConntrackFlow
    {
        let s = IPAddress(source)!
        let d = IPAddress(destination)!
        return ConntrackFlow(
            family: s.family, id: id,
            original: FlowTuple(source: s, destination: d, protocolNumber: .tcp, sourcePort: sport, destinationPort: dport),
            reply: FlowTuple(source: d, destination: s, protocolNumber: .tcp, sourcePort: dport, destinationPort: sport),
            status: replied ? [.seenReply] : [])
    }

    func syn(_ source: String, _ sport: UInt16, _ destination: String, _ dport: UInt16) -> IPPacketHeader {
        IPPacketHeader(
            source: IPAddress(source)!, destination: IPAddress(destination)!, protocolNumber: .tcp, sourcePort: sport,
            destinationPort: dport, tcpFlags: 0x02)
    }

    @Test func theRuleIsTheOneInTheDesignBrief() {
        let names = SynProbeRule.expressions(logGroup: 196, ratePerSecond: 100).map(\.name)
        #expect(names == ["meta", "cmp", "meta", "cmp", "payload", "bitwise", "cmp", "fib", "cmp", "counter", "limit", "log"])
        #expect(
            SynProbeRule.udpExpressions(logGroup: 196, ratePerSecond: 100).map(\.name) == [
                "meta", "cmp", "meta", "cmp", "fib", "cmp", "counter", "limit", "log",
            ])
        let rule = SynProbeRule.expressions(logGroup: 196, ratePerSecond: 100)
        #expect(rule.contains(.log(group: 196, snapLength: SynProbeRule.snapLength, prefix: nil)))
        #expect(rule.contains(.limit(rate: 100, unitSeconds: 1, burst: 5)))
        #expect(rule.contains(.fib(flags: .sourceAddress, result: .addressType, destination: .one)))
        #expect(SynProbeRule.hook == .preroutingBeforeRaw)
    }

    /// A dump that shows anything but exactly the agent's rule means someone flushed, deleted
    /// or added to the table: the agent reinstalls.
    @Test func onlyExactlyTheAgentsRuleCountsAsInstalled() throws {
        func dumped(_ expressions: [NfTablesExpression], comment: String?) throws -> NfTablesRule {
            let bytes = NetlinkRequest.newNfRule(
                family: NfTablesFamily.inet, table: SynProbeRule.table, chain: SynProbeRule.chain, expressions: expressions,
                comment: comment
            ).finish(sequence: 1)
            return try bytes.withUnsafeBytes { raw in
                var iterator = MessageIterator(raw)
                return try NfTablesRule(try #require(try iterator.next()))
            }
        }
        let ours = try dumped(SynProbeRule.expressions(logGroup: 196, ratePerSecond: 100), comment: SynProbeRule.ruleComment)
        let oursUDP = try dumped(SynProbeRule.udpExpressions(logGroup: 196, ratePerSecond: 100), comment: SynProbeRule.udpRuleComment)
        let rpf = try SynProbeRule.rules(logGroup: 196, ratePerSecond: 100).dropFirst(2).map {
            try dumped($0.expressions, comment: $0.comment)
        }
        #expect(rpf.count == 4, "TCP and UDP, IPv4 and IPv6")
        let oursRPF = rpf[0]
        #expect(SynProbeRule.isInstalled([ours, oursUDP] + rpf, logGroup: 196, ratePerSecond: 100))
        #expect(rpf[0].expressionNames.contains("lookup") && rpf[1].values.compareData.first(where: { $0 == [10] }) != nil)
        #expect(!SynProbeRule.isInstalled([], logGroup: 196, ratePerSecond: 100), "flushed")
        #expect(!SynProbeRule.isInstalled([ours, oursUDP, oursRPF], logGroup: 196, ratePerSecond: 100), "a rule is missing")
        #expect(!SynProbeRule.isInstalled([oursUDP, ours] + rpf, logGroup: 196, ratePerSecond: 100), "out of order")
        #expect(!SynProbeRule.isInstalled([ours, oursUDP] + rpf + [ours], logGroup: 196, ratePerSecond: 100), "someone added a rule")
        let foreign = try dumped([.counter], comment: nil)
        #expect(!SynProbeRule.isInstalled([ours, foreign] + rpf, logGroup: 196, ratePerSecond: 100))
        // Issue 17 item 6: a second agent rewrote the rule to its own log group; the names and
        // the comment are unchanged, the values are not.
        let rewritten = try dumped(SynProbeRule.expressions(logGroup: 7, ratePerSecond: 100), comment: SynProbeRule.ruleComment)
        #expect(!SynProbeRule.isInstalled([rewritten, oursUDP] + rpf, logGroup: 196, ratePerSecond: 100), "another log group")
        let faster = try dumped(SynProbeRule.udpExpressions(logGroup: 196, ratePerSecond: 5), comment: SynProbeRule.udpRuleComment)
        #expect(!SynProbeRule.isInstalled([ours, faster] + rpf, logGroup: 196, ratePerSecond: 100), "another rate")
        #expect(ours.values.logGroup == 196)
        #expect(ours.values.compareData.count == 4)
    }

    /// Issue 17 item 6: a table named `inet pathwatch` is the agent's only with its marker.
    @Test func onlyATableWithTheAgentsMarkerIsEverReplaced() {
        #expect(SynProbeRule.installPlan(existing: nil) == .create)
        let ours = NfTablesTable(family: NfTablesFamily.inet, name: "pathwatch", handle: 9, comment: SynProbeRule.tableComment)
        #expect(SynProbeRule.installPlan(existing: ours) == .replace(handle: 9))
        for comment in [nil, "firewall: do not touch", SynProbeRule.tableComment + "!"] {
            let foreign = NfTablesTable(family: NfTablesFamily.inet, name: "pathwatch", handle: 3, comment: comment)
            guard case .refuse(let reason) = SynProbeRule.installPlan(existing: foreign) else {
                Issue.record("a foreign table (comment \(comment ?? "none")) would be replaced")
                continue
            }
            #expect(reason.contains("inet pathwatch"), "the error names the table")
        }
    }

    @Test func theFrontendIsTheOutboundFlowOfTheSameSourcePort() {
        let flows = [
            flow(1, "10.0.1.10", 40000, "10.0.9.9", 80),
            flow(2, "10.0.1.10", 40001, "10.0.9.8", 443),  // another port
            flow(3, "10.0.1.10", 40000, "10.0.1.10", 8080),  // local destination: not a frontend
        ]
        let frontend = SelfSourcedSyn.frontend(of: syn("10.0.1.10", 40000, "10.0.1.10", 8080), among: flows, isLocal: isLocal)
        #expect(frontend?.description == "10.0.9.9:80")
    }

    /// Issue 13: a pod masqueraded to the node's address: the node's address and port are only
    /// in the flow's reply tuple.
    @Test func theFrontendOfAMasqueradedPodIsFoundThroughTheReplyTuple() {
        let (pod, node, frontend) = (IPAddress("10.244.0.2")!, IPAddress("10.0.1.10")!, IPAddress("10.0.9.9")!)
        let masqueraded = ConntrackFlow(
            family: .inet, id: 9,
            original: FlowTuple(source: pod, destination: frontend, protocolNumber: .tcp, sourcePort: 35000, destinationPort: 80),
            reply: FlowTuple(source: frontend, destination: node, protocolNumber: .tcp, sourcePort: 80, destinationPort: 61000))
        let found = SelfSourcedSyn.frontend(of: syn("10.0.1.10", 61000, "10.0.1.10", 8080), among: [masqueraded], isLocal: isLocal)
        #expect(found?.description == "10.0.9.9:80")
        #expect(SelfSourcedSyn.frontend(of: syn("10.0.1.10", 35000, "10.0.1.10", 8080), among: [masqueraded], isLocal: isLocal) == nil)
    }

    @Test func anUnansweredFlowWinsOverAnAnsweredOneAndTheNewestAmongEquals() {
        let flows = [
            flow(7, "10.0.1.10", 40000, "10.0.9.7", 80, replied: true), flow(5, "10.0.1.10", 40000, "10.0.9.5", 80),
            flow(6, "10.0.1.10", 40000, "10.0.9.6", 80),
        ]
        let frontend = SelfSourcedSyn.frontend(of: syn("10.0.1.10", 40000, "10.0.1.10", 8080), among: flows, isLocal: isLocal)
        #expect(frontend?.description == "10.0.9.6:80")
    }

    @Test func noFlowNoFrontendAndTheFindingSaysSo() throws {
        #expect(SelfSourcedSyn.frontend(of: syn("10.0.1.10", 40000, "10.0.1.10", 8080), among: [], isLocal: isLocal) == nil)
        let packet = NflogPacket(family: .inet, group: 196, header: syn("10.0.1.10", 40000, "10.0.1.10", 8080))
        let observation = try #require(SelfSourcedSyn(packet: packet, frontend: nil, interface: nil))
        var evidence = SelfSourcedSynEvidence(frontend: nil, detection: "probe")
        evidence.add(observation)
        #expect(JSONValue(encoding: evidence).objectMembers["frontend"] == .null)
        #expect(evidence.summary.contains("could not name"))
    }

    @Test func onlySynsAndDatagramsWithPortsAreObservations() throws {
        var synAck = syn("10.0.1.10", 40000, "10.0.1.10", 8080)
        synAck.tcpFlags = 0x12
        #expect(SelfSourcedSyn(packet: NflogPacket(family: .inet, group: 196, header: synAck), frontend: nil, interface: nil) == nil)
        #expect(SelfSourcedSyn(packet: NflogPacket(family: .inet, group: 196, header: nil), frontend: nil, interface: nil) == nil)
        let datagram = IPPacketHeader(
            source: IPAddress("10.0.1.10")!, destination: IPAddress("10.0.1.10")!, protocolNumber: .udp, sourcePort: 41000,
            destinationPort: 5353)
        let udp = try #require(
            SelfSourcedSyn(packet: NflogPacket(family: .inet, group: 196, header: datagram), frontend: nil, interface: nil))
        var evidence = SelfSourcedSynEvidence(frontend: nil, detection: "probe")
        evidence.add(udp)
        #expect(JSONValue(encoding: evidence).objectMembers["protocol"] == .string("udp"))
        #expect(evidence.summary.hasPrefix("UDP datagrams this node sent"))
    }

    @Test func evidenceNamesEverythingAndStaysBounded() throws {
        let frontend = HairpinCorrelator.Endpoint(address: IPAddress("fd00:9::9")!, port: 80)
        var evidence = SelfSourcedSynEvidence(frontend: frontend, detection: "probe")
        for port in UInt16(40000)..<40100 {
            let packet = NflogPacket(
                family: .inet6, group: 196, inputInterface: 2, hardwareAddress: [2, 0, 0, 0, 0, 1],
                header: syn("fd00:1::10", port, "fd00:1::10", 8080))
            evidence.add(try #require(SelfSourcedSyn(packet: packet, frontend: frontend, interface: "eth0")))
        }
        #expect(evidence.loggedSyns == 100)
        #expect(evidence.sources.count == SelfSourcedSynEvidence.listLimit)
        #expect(evidence.samples.count == SelfSourcedSynEvidence.listLimit)
        #expect(evidence.samples.last == "[fd00:1::10]:40099 -> [fd00:9::9]:80 -> [fd00:1::10]:8080 on eth0 from 02:00:00:00:00:01")
        let json = JSONValue(encoding: evidence).objectMembers
        #expect(json["frontend"] == .string("[fd00:9::9]:80"))
        #expect(json["senderMACs"] == .array([.string("02:00:00:00:00:01")]))
        #expect(json["interfaces"] == .array([.string("eth0")]))
    }

    @Test func probeSettingsParseAndAreChecked() throws {
        let config = try parse("hairpin:\n  probe: false\n  probeLogGroup: 12\n  probeRatePerSecond: 10\n")
        #expect(config.hairpin.probe == false)
        #expect(config.hairpin.probeLogGroup == 12)
        #expect(config.hairpin.probeRatePerSecond == 10)
        #expect(try parse("").hairpin.probe == true)
        #expect(try parse("").hairpin.probeLogGroup == 196)
        #expect(refusal("hairpin:\n  probeLogGroup: 70000\n")?.key == "hairpin.probeLogGroup")
        #expect(refusal("hairpin:\n  probeLogGroup: 0\n")?.key == "hairpin.probeLogGroup")
        #expect(refusal("hairpin:\n  probe: maybe\n")?.key == "hairpin.probe")
    }
}
