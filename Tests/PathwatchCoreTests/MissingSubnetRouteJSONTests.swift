import Foundation
import Netlink
import Testing

@testable import PathwatchCore

/// The `/findings` JSON of `missing_subnet_route`, pinned: the typed evidence and remediation
/// must encode exactly as the hand-built `[String: JSONValue]` objects the repairer served
/// before it had types (kept here verbatim as the reference), and as the golden text.
@Suite("missing_subnet_route JSON")
struct MissingSubnetRouteJSONTests {
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    let e = SubnetRouteExpectation(
        interface: "net1", interfaceIndex: InterfaceIndex(3), source: IPAddress("10.4.2.10")!, subnet: IPPrefix("10.4.2.0/24")!,
        destination: IPPrefix("10.5.2.0/24")!, gateway: IPAddress("10.4.2.1")!)
    let observed = "leaves by net0 via 10.4.1.1"
    let commands = ["ip route add 10.5.2.0/24 via 10.4.2.1 dev net1 proto 196"]

    /// The evidence exactly as the pre-typed repairer built it.
    func reference(state: String, mode: AutofixMode, cause: String?, removals: Int) -> [String: JSONValue] {
        var evidence: [String: JSONValue] = [
            "interface": .string(e.interface), "source": .string("\(e.source)"), "subnet": .string("\(e.subnet)"),
            "destination": .string("\(e.destination)"), "gateway": .string("\(e.gateway)"),
            "lookup": .string("ip route get \(e.probe) from \(e.source): \(observed)"), "autofix": .string(mode.rawValue),
            "repairState": .string(state), "removedByOthers": .number(Double(removals)),
        ]
        if let cause { evidence["likelyCause"] = .string(cause) }
        return evidence
    }

    func referenceRemediation(conflict: String?) -> [String: JSONValue] {
        var remediation: [String: JSONValue] = [
            "commands": .array(commands.map { .string($0) }),
            "text": .string(
                "Route the peer subnet via this interface's own subnet gateway, on both sides (mirrored). With auto-fix on, pathwatch installs it tagged with its routing protocol (196); make it permanent in the node's network configuration."
            ),
        ]
        if let conflict { remediation["conflict"] = .string(conflict) }
        return remediation
    }

    @Test func theDryRunFindingIsByteForByteTheGolden() throws {
        let report = MissingSubnetRouteReport(
            e, observed: observed, state: .dryRun([]), mode: .dryRun, removals: 0, likelyCause: nil, commands: commands, conflict: nil)
        let golden =
            #"{"autofix":"dry-run","destination":"10.5.2.0\/24","gateway":"10.4.2.1","interface":"net1","lookup":"ip route get 10.5.2.1 from 10.4.2.10: leaves by net0 via 10.4.1.1","removedByOthers":0,"repairState":"dry-run","source":"10.4.2.10","subnet":"10.4.2.0\/24"}"#
        #expect(try Self.encode(report.evidence) == golden)
        #expect(try Self.encode(report.evidence) == Self.encode(reference(state: "dry-run", mode: .dryRun, cause: nil, removals: 0)))
        #expect(try Self.encode(report.remediation) == Self.encode(referenceRemediation(conflict: nil)))
        #expect(
            report.summary
                == "Traffic from net1 (10.4.2.10) to 10.5.2.0/24 leaves by net0 via 10.4.1.1 instead of leaving by net1 via its subnet gateway 10.4.2.1 (dry-run)"
        )
        #expect(report.id.description == "net1 10.5.2.0/24")
    }

    @Test func flappingAndConflictFindingsMatchTheReference() throws {
        let flapping = MissingSubnetRouteReport(
            e, observed: observed, state: .flapping, mode: .on, removals: 3, likelyCause: "systemd-networkd is running", commands: commands,
            conflict: nil)
        #expect(
            try Self.encode(flapping.evidence)
                == Self.encode(reference(state: "flapping", mode: .on, cause: "systemd-networkd is running", removals: 3)))
        let route = Route(
            destination: e.destination, protocolID: .static,
            nextHops: [NextHop(gateway: IPAddress("10.4.1.1"), interface: InterfaceIndex(2))])
        let conflict = MissingSubnetRouteReport(
            e, observed: observed, state: .conflict(Conflict(route: route)), mode: .on, removals: 0, likelyCause: nil, commands: commands,
            conflict: Conflict(route: route))
        #expect(try Self.encode(conflict.evidence) == Self.encode(reference(state: "conflict", mode: .on, cause: nil, removals: 0)))
        // Since issue 17.3 the conflict also comes as fields, `remediation.blockedBy`.
        var expected = referenceRemediation(
            conflict:
                "a route to 10.5.2.0/24 in table main owned by protocol static is in the way; pathwatch never changes routes it does not own"
        )
        expected["blockedBy"] = .object([
            "route": .string("10.5.2.0/24 via 10.4.1.1 dev net0 proto static"), "type": .string("unicast"), "table": .string("main"),
            "protocol": .string("static"), "metric": .number(0), "gateway": .string("10.4.1.1"), "interface": .string("net0"),
        ])
        let conflictNamed = MissingSubnetRouteReport(
            e, observed: observed, state: .conflict(Conflict(route: route)), mode: .on, removals: 0, likelyCause: nil, commands: commands,
            conflict: Conflict(route: route), names: [InterfaceIndex(2): "net0"])
        #expect(try Self.encode(conflictNamed.remediation) == Self.encode(expected))
    }

    @Test func theLiveTrafficFindingMatchesTheReference() throws {
        let candidate = UnrepliedFlowScan.Candidate(
            interface: "net1", interfaceIndex: InterfaceIndex(3), source: IPAddress("10.4.2.10")!, destination: IPAddress("10.5.2.10")!,
            flows: 2)
        let report = LiveTrafficRouteReport(candidate, leaves: "net0", via: IPAddress("10.4.1.1"), gateway: IPAddress("10.4.2.1"))
        let evidence: [String: JSONValue] = [
            "interface": .string("net1"), "source": .string("10.4.2.10"), "destination": .string("10.5.2.10"),
            "unrepliedFlows": .number(2), "lookup": .string("ip route get 10.5.2.10 from 10.4.2.10: leaves by net0"),
            "origin": .string("conntrack"),
        ]
        let remediation: [String: JSONValue] = [
            "text": .string(
                "Route the peer's subnet via net1's own subnet gateway, or declare it under subnetRoutes so pathwatch checks (and with auto-fix on, repairs) it."
            ),
            "commands": .array([.string("ip route add 10.5.2.10/32 via 10.4.2.1 dev net1")]),
            "config": .string("subnetRoutes:\n  net1: [\"<peer subnet containing 10.5.2.10>\"]"),
        ]
        #expect(try Self.encode(report.evidence) == Self.encode(evidence))
        #expect(try Self.encode(report.remediation) == Self.encode(remediation))
        #expect(report.id.description == "live net1 10.5.2.10")
        #expect(
            report.summary
                == "2 unreplied flow(s) from net1 (10.4.2.10) to 10.5.2.10 leave by net0 via 10.4.1.1, not by net1: the reply path is likely dropped (seen in live traffic)"
        )
    }

    /// The on-link signature from the neighbour table (`on-link net1`), pinned as served.
    @Test func theOnLinkNeighbourFindingEncodesAsServed() throws {
        let candidate = OnLinkNeighbourScan.Candidate(
            interface: "net1", interfaceIndex: InterfaceIndex(3), source: IPAddress("10.4.2.10")!, subnets: [IPPrefix("10.4.2.0/24")!],
            address: IPAddress("10.5.2.10")!, state: .failed)
        let report = OnLinkNeighbourReport([candidate], route: IPPrefix("10.5.2.0/24"))
        #expect(report.key == "on-link net1")
        #expect(
            try Self.encode(report.evidence)
                == #"{"addresses":["10.5.2.10"],"interface":"net1","lookup":"ip route get 10.5.2.10 from 10.4.2.10: leaves by net1 on-link, without a gateway","neighbourState":"FAILED","origin":"neighbour table","route":"10.5.2.0\/24 dev net1","subnets":["10.4.2.0\/24"],"unanswered":1}"#
        )
        #expect(
            try Self.encode(report.remediation)
                == #"{"commands":["ip route replace 10.5.2.0\/24 via 10.4.2.1 dev net1"],"config":"subnetRoutes:\n  net1: [\"<peer subnet containing 10.5.2.10>\"]","text":"The on-link route `10.5.2.0\/24 dev net1` sends traffic for 10.5.2.10 out of net1 without a gateway, but 10.5.2.10 is outside net1's subnets: nobody answers ARP for it, so every packet dies in the neighbour table. Replace it with a route via net1's subnet gateway, on both sides, and declare the peer subnet under subnetRoutes so pathwatch checks (and with auto-fix on, repairs) it."}"#
        )
    }
}
