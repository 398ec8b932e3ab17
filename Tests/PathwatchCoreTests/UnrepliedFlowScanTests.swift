import Netlink
import Testing

@testable import PathwatchCore

@Suite("Unreplied flow scan")
struct UnrepliedFlowScanTests {
    func node() -> NodeState {
        var state = NodeState()
        state.apply(.linkChanged(Link(index: InterfaceIndex(2), name: "net0")))
        state.apply(.linkChanged(Link(index: InterfaceIndex(3), name: "net1")))
        state.apply(.addressAdded(InterfaceAddress(interface: InterfaceIndex(2), address: IPAddress("10.4.1.10")!, prefixLength: 24)))
        state.apply(.addressAdded(InterfaceAddress(interface: InterfaceIndex(3), address: IPAddress("10.4.2.10")!, prefixLength: 24)))
        return state
    }

    func flow(_ id: UInt32, from source: String, to destination: String, replied: Bool = false) -> ConntrackFlow {
        let s = IPAddress(source)!
        let d = IPAddress(destination)!
        return ConntrackFlow(
            family: .inet, id: id,
            original: FlowTuple(source: s, destination: d, protocolNumber: .tcp, sourcePort: 40000 + UInt16(id), destinationPort: 443),
            reply: FlowTuple(source: d, destination: s, protocolNumber: .tcp, sourcePort: 443, destinationPort: 40000 + UInt16(id)),
            status: replied ? [.confirmed, .seenReply] : [.confirmed])
    }

    /// Issue 14: a dead peer port on a working path is not a routing failure. Replies on the same
    /// address pair (another port, another protocol) mean the path works.
    @Test func aPairWithRepliesOnAnyPortIsNotACandidate() {
        let flows: [UInt32: ConntrackFlow] = [
            1: flow(1, from: "10.4.2.10", to: "10.5.2.10"),
            2: flow(2, from: "10.4.2.10", to: "10.5.2.10"),
            3: flow(3, from: "10.4.2.10", to: "10.5.2.10", replied: true),
            4: flow(4, from: "10.4.2.10", to: "10.5.2.20"),
        ]
        let scan = UnrepliedFlowScan.candidates(flows: flows, previouslyUnreplied: [1, 2, 4], state: node())
        #expect(scan.candidates.map(\.destination) == [IPAddress("10.5.2.20")!], "only the pair with no reply at all")
    }

    @Test func onlyFlowsUnrepliedAtTwoScansFromALocalAddressCount() {
        let flows: [UInt32: ConntrackFlow] = [
            1: flow(1, from: "10.4.2.10", to: "10.5.2.10"),
            2: flow(2, from: "10.4.2.10", to: "10.5.2.10"),
            3: flow(3, from: "10.4.2.10", to: "10.5.2.11", replied: true),
            4: flow(4, from: "10.9.9.9", to: "10.5.2.10"),  // not our address (forwarded traffic)
            5: flow(5, from: "10.4.1.10", to: "127.0.0.1"),
            6: flow(6, from: "10.4.2.10", to: "10.5.2.12"),  // new since the last scan
        ]
        let first = UnrepliedFlowScan.candidates(flows: flows, previouslyUnreplied: [], state: node())
        #expect(first.candidates.isEmpty, "nothing counts at the first sight")
        #expect(first.unreplied == [1, 2, 4, 5, 6])
        let second = UnrepliedFlowScan.candidates(flows: flows, previouslyUnreplied: [1, 2, 4, 5], state: node())
        #expect(second.candidates.count == 1)
        #expect(second.candidates[0].interface == "net1")
        #expect(second.candidates[0].destination == IPAddress("10.5.2.10"))
        #expect(second.candidates[0].flows == 2)
    }

    @Test func theLookupDecides() {
        let candidate = UnrepliedFlowScan.Candidate(
            interface: "net1", interfaceIndex: InterfaceIndex(3), source: IPAddress("10.4.2.10")!, destination: IPAddress("10.5.2.10")!,
            flows: 1)
        #expect(
            UnrepliedFlowScan.isMisrouted(
                candidate, lookup: .route(interface: InterfaceIndex(2), gateway: IPAddress("10.4.1.1"), table: .main)))
        #expect(!UnrepliedFlowScan.isMisrouted(candidate, lookup: .route(interface: InterfaceIndex(3), gateway: nil, table: .main)))
        #expect(!UnrepliedFlowScan.isMisrouted(candidate, lookup: .unreachable("no route")))
    }

    /// Issue 14: the on-link half-fix seen in live traffic, without configuration.
    @Test func anOnLinkRouteToAnotherSubnetIsAMisroute() {
        let candidate = UnrepliedFlowScan.Candidate(
            interface: "net1", interfaceIndex: InterfaceIndex(3), source: IPAddress("10.4.2.10")!, destination: IPAddress("10.5.2.10")!,
            flows: 1)
        let subnet = IPPrefix("10.4.2.0/24")!
        let onLink = RouteLookupOutcome.route(interface: InterfaceIndex(3), gateway: nil, table: .main)
        #expect(UnrepliedFlowScan.misroute(candidate, lookup: onLink, sourceSubnet: subnet) == .onLinkOutsideSubnet(subnet))
        var neighbour = candidate
        neighbour.destination = IPAddress("10.4.2.20")!
        #expect(
            UnrepliedFlowScan.misroute(neighbour, lookup: onLink, sourceSubnet: subnet) == nil, "a dead neighbour is not a routing failure")
        let viaGateway = RouteLookupOutcome.route(interface: InterfaceIndex(3), gateway: IPAddress("10.4.2.1"), table: .main)
        #expect(UnrepliedFlowScan.misroute(candidate, lookup: viaGateway, sourceSubnet: subnet) == nil)
        let wrongWay = RouteLookupOutcome.route(interface: InterfaceIndex(2), gateway: IPAddress("10.4.1.1"), table: .main)
        #expect(
            UnrepliedFlowScan.misroute(candidate, lookup: wrongWay, sourceSubnet: subnet)
                == .otherInterface(InterfaceIndex(2), via: IPAddress("10.4.1.1")))
        let report = LiveTrafficRouteReport(onLink: candidate, subnet: subnet)
        #expect(report.evidence.lookup == "ip route get 10.5.2.10 from 10.4.2.10: leaves by net1 on-link, without a gateway")
        #expect(report.remediation.commands == ["ip route add 10.5.2.10/32 via 10.4.2.1 dev net1"])
    }

    @Test func aFloodIsBoundedByTheLimit() {
        var flows: [UInt32: ConntrackFlow] = [:]
        for i in 0..<5000 { flows[UInt32(i)] = flow(UInt32(i), from: "10.4.2.10", to: "10.6.\(i / 256).\(i % 256)") }
        let result = UnrepliedFlowScan.candidates(flows: flows, previouslyUnreplied: Set(flows.keys), state: node(), limit: 32)
        #expect(result.candidates.count == 32)
    }
}
