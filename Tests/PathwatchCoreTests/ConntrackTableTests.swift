import Netlink
import Testing

@testable import PathwatchCore

@Suite("Conntrack table")
struct ConntrackTableTests {
    func flow(id: UInt32?, sourcePort: UInt16, state: TCPConntrackState? = .synSent, status: ConntrackStatus = [.confirmed])
        -> ConntrackFlow
    {
        let original = FlowTuple(
            source: IPAddress("10.0.1.20")!, destination: IPAddress("10.0.9.9")!, protocolNumber: .tcp, sourcePort: sourcePort,
            destinationPort: 80)
        let reply = FlowTuple(
            source: IPAddress("10.0.9.9")!, destination: IPAddress("10.0.1.20")!, protocolNumber: .tcp, sourcePort: 80,
            destinationPort: sourcePort)
        var flow = ConntrackFlow(family: .inet, original: original, reply: reply)
        flow.id = id
        flow.tcpState = state
        flow.status = status
        return flow
    }

    @Test func newUpdateDestroy() {
        var table = ConntrackTable()
        table.apply(ConntrackEvent(type: .new, flow: flow(id: 1, sourcePort: 35220)))
        table.apply(ConntrackEvent(type: .new, flow: flow(id: 2, sourcePort: 35221)))
        #expect(table.count == 2)
        table.apply(
            ConntrackEvent(
                type: .update, flow: flow(id: 1, sourcePort: 35220, state: .established, status: [.confirmed, .seenReply, .assured])))
        #expect(table.flow(id: 1)?.tcpState == .established)
        #expect(table.flow(id: 1)?.status.contains(.assured) == true)
        // An update without protocol info keeps the last known TCP state.
        table.apply(
            ConntrackEvent(type: .update, flow: flow(id: 1, sourcePort: 35220, state: nil, status: [.confirmed, .seenReply, .assured])))
        #expect(table.flow(id: 1)?.tcpState == .established)
        table.apply(ConntrackEvent(type: .destroy, flow: flow(id: 1, sourcePort: 35220)))
        #expect(table.count == 1)
        #expect(table.flow(id: 1) == nil)
    }

    @Test func anUpdateForAnUnknownFlowAddsIt() {
        var table = ConntrackTable()
        table.apply(ConntrackEvent(type: .update, flow: flow(id: 9, sourcePort: 40000, state: .established)))
        #expect(table.flow(id: 9)?.original.sourcePort == 40000)
    }

    @Test func flowsWithoutAnIDAreCountedNotStored() {
        var table = ConntrackTable()
        table.apply(ConntrackEvent(type: .new, flow: flow(id: nil, sourcePort: 1)))
        #expect(table.count == 0)
        #expect(table.flowsWithoutID == 1)
    }

    @Test func replaceAllIsTheDump() {
        var table = ConntrackTable()
        table.apply(ConntrackEvent(type: .new, flow: flow(id: 1, sourcePort: 1)))
        table.replaceAll([flow(id: 5, sourcePort: 5), flow(id: 6, sourcePort: 6)])
        #expect(ids(table) == [5, 6])
        // A destroy for a flow the dump no longer had is harmless.
        table.apply(ConntrackEvent(type: .destroy, flow: flow(id: 1, sourcePort: 1)))
        #expect(table.count == 2)
    }

    func ids(_ table: borrowing ConntrackTable) -> Set<UInt32> {
        var ids: Set<UInt32> = []
        table.forEach { id, _ in ids.insert(id) }
        return ids
    }

    /// What the detectors read survives the packing, for both families and for flows without
    /// ports or TCP state.
    @Test func packedRecordsKeepWhatTheDetectorsRead() {
        var table = ConntrackTable()
        table.apply(ConntrackEvent(type: .new, flow: flow(id: 1, sourcePort: 35220, state: .synSent, status: [.confirmed])))
        let v6 = FlowTuple(
            source: IPAddress("2001:db8::20")!, destination: IPAddress("2001:db8:9::9")!, protocolNumber: .udp, sourcePort: 7946,
            destinationPort: 7946)
        table.apply(ConntrackEvent(type: .new, flow: ConntrackFlow(family: .inet6, id: 2, original: v6, reply: v6, status: [.seenReply])))
        let icmp = FlowTuple(source: IPAddress("10.4.2.10")!, destination: IPAddress("10.5.2.10")!, protocolNumber: .icmp, icmpID: 7)
        table.apply(ConntrackEvent(type: .new, flow: ConntrackFlow(family: .inet, id: 3, original: icmp, reply: icmp)))

        #expect(
            table.flow(id: 1)
                == TrackedFlow(original: TrackedTuple(flow(id: 1, sourcePort: 35220).original), status: [.confirmed], tcpState: .synSent))
        #expect(table.flow(id: 2) == TrackedFlow(original: TrackedTuple(v6), status: [.seenReply], tcpState: nil))
        let echo = table.flow(id: 3)
        #expect(echo?.original.sourcePort == nil && echo?.original.destinationPort == nil)
        #expect(echo?.original.destination == IPAddress("10.5.2.10"))
        #expect(table.count == 3)
    }

    /// Only the selected sources are stored: an update or destroy of a flow that was never
    /// selected does not add it either.
    @Test func onlySelectedSourcesAreTracked() {
        var table = ConntrackTable()
        let local: (IPAddress) -> Bool = { $0 == IPAddress("10.0.1.20") }
        var remote = flow(id: 7, sourcePort: 4000)
        remote.original.source = IPAddress("198.51.100.7")!
        table.apply(ConntrackEvent(type: .new, flow: remote), isTracked: local)
        table.apply(ConntrackEvent(type: .update, flow: remote), isTracked: local)
        table.apply(ConntrackEvent(type: .new, flow: flow(id: 8, sourcePort: 4001)), isTracked: local)
        #expect(ids(table) == [8])
    }

    /// The memory bound: beyond `maxFlows` new flows are counted and left out, updates of
    /// tracked flows still apply, and a destroy makes room again.
    @Test func theBoundLeavesNewFlowsOutAndCountsThem() {
        var table = ConntrackTable(maxFlows: 2)
        for id in UInt32(1)...4 { table.apply(ConntrackEvent(type: .new, flow: flow(id: id, sourcePort: UInt16(id)))) }
        #expect(table.count == 2)
        #expect(table.untrackedForBound == 2)
        #expect(table.isFull)
        table.apply(ConntrackEvent(type: .update, flow: flow(id: 1, sourcePort: 1, state: .established, status: [.seenReply])))
        #expect(table.flow(id: 1)?.tcpState == .established)
        table.apply(ConntrackEvent(type: .destroy, flow: flow(id: 2, sourcePort: 2)))
        table.apply(ConntrackEvent(type: .new, flow: flow(id: 5, sourcePort: 5)))
        #expect(ids(table) == [1, 5])
    }

    @Test func packedRecordsAreSmall() {
        #expect(MemoryLayout<PackedFlowV4>.stride <= 20)
        #expect(MemoryLayout<PackedFlowV6>.stride <= 44)
    }
}
