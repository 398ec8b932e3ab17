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
        #expect(table.flows[1]?.tcpState == .established)
        #expect(table.flows[1]?.status.contains(.assured) == true)
        // An update without protocol info keeps the last known TCP state.
        table.apply(
            ConntrackEvent(type: .update, flow: flow(id: 1, sourcePort: 35220, state: nil, status: [.confirmed, .seenReply, .assured])))
        #expect(table.flows[1]?.tcpState == .established)
        table.apply(ConntrackEvent(type: .destroy, flow: flow(id: 1, sourcePort: 35220)))
        #expect(table.count == 1)
        #expect(table.flows[1] == nil)
    }

    @Test func anUpdateForAnUnknownFlowAddsIt() {
        var table = ConntrackTable()
        table.apply(ConntrackEvent(type: .update, flow: flow(id: 9, sourcePort: 40000, state: .established)))
        #expect(table.flows[9]?.original.sourcePort == 40000)
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
        #expect(Set(table.flows.keys) == [5, 6])
        // A destroy for a flow the dump no longer had is harmless.
        table.apply(ConntrackEvent(type: .destroy, flow: flow(id: 1, sourcePort: 1)))
        #expect(table.count == 2)
    }
}
