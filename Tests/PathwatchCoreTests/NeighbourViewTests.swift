import Netlink
import Testing

@testable import PathwatchCore

/// The model keeps only unanswered ARP/ND entries, bounded: resolved entries and state churn
/// between resolved states cost nothing; a full view drops and says so.
@Suite("Neighbour view")
struct NeighbourViewTests {
    static let net1 = InterfaceIndex(3)

    static func entry(_ address: String, _ state: NeighbourState, on interface: InterfaceIndex = net1, flags: UInt8 = 0) -> Neighbour {
        let ip = IPAddress(address)!
        return Neighbour(family: ip.family, interface: interface, state: state, address: ip, flags: flags)
    }

    @Test func onlyUnansweredEntriesAreKept() {
        var view = NeighbourView()
        #expect(view.apply(Self.entry("10.4.2.1", .reachable), removed: false) == .unchanged)
        #expect(view.apply(Self.entry("10.4.2.1", .incomplete), removed: false) == .changed)
        #expect(view.state(of: IPAddress("10.4.2.1")!, on: Self.net1) == .incomplete)
        #expect(view.apply(Self.entry("10.4.2.1", .failed), removed: false) == .changed)
        #expect(view.apply(Self.entry("10.4.2.1", .failed), removed: false) == .unchanged)
        #expect(view.apply(Self.entry("10.4.2.1", .reachable), removed: false) == .changed, "resolved: forgotten")
        #expect(view.count == 0)
        #expect(view.apply(Self.entry("10.4.2.1", .stale), removed: false) == .unchanged, "churn among resolved states is free")
    }

    @Test func aDeletedEntryAndAProxyEntryAreNotKept() {
        var view = NeighbourView()
        view.apply(Self.entry("fd00:4:2::1", .failed), removed: false)
        #expect(view.count == 1)
        #expect(view.apply(Self.entry("fd00:4:2::1", .failed), removed: true) == .changed)
        #expect(view.apply(Self.entry("10.4.2.7", .incomplete, flags: 0x08), removed: false) == .unchanged)
        #expect(view.count == 0)
    }

    @Test func aFullViewDropsNewEntriesButStillUpdatesKeptOnes() {
        var view = NeighbourView(capacity: 2)
        view.apply(Self.entry("10.4.2.1", .incomplete), removed: false)
        view.apply(Self.entry("10.4.2.2", .incomplete), removed: false)
        #expect(view.apply(Self.entry("10.4.2.3", .failed), removed: false) == .dropped)
        #expect(view.state(of: IPAddress("10.4.2.3")!, on: Self.net1) == nil)
        #expect(view.apply(Self.entry("10.4.2.1", .failed), removed: false) == .changed)
        view.apply(Self.entry("10.4.2.2", .reachable), removed: false)
        #expect(view.apply(Self.entry("10.4.2.3", .failed), removed: false) == .changed, "room again")
        #expect(view.droppedTotal == 1)
        var state = NodeState()
        state.replaceNeighbours(view)
        state.replaceNeighbours(view)
        #expect(state.neighbours.droppedTotal == 2, "a rebuilt view adds its drops to the count")
    }

    @Test func theModelFollowsNeighbourEventsAndForgetsARemovedLink() {
        var state = NodeState()
        let link = Link(index: Self.net1, name: "net1", flags: [.up], operState: .up)
        state.apply(.linkChanged(link))
        let added = state.apply(.neighbourChanged(Self.entry("10.5.2.10", .failed)))
        #expect(added)
        #expect(state.neighbours.count == 1)
        let removed = state.apply(.neighbourRemoved(Self.entry("10.5.2.10", .failed)))
        #expect(removed)
        state.apply(.neighbourChanged(Self.entry("10.5.2.10", .incomplete)))
        state.apply(.linkRemoved(link))
        #expect(state.neighbours.count == 0)
    }

    /// A big node: 50 000 entries, nearly all resolved, a few hundred unanswered.
    @Test func tensOfThousandsOfEntriesKeepOnlyTheUnanswered() {
        var view = NeighbourView()
        var dropped = 0
        for i in 0..<50_000 {
            let address = IPAddress.v4(0x0A00_0000 | UInt32(i))
            let state: NeighbourState = i % 100 == 0 ? .failed : (i % 2 == 0 ? .reachable : .stale)
            if view.apply(Neighbour(family: .inet, interface: Self.net1, state: state, address: address), removed: false) == .dropped {
                dropped += 1
            }
        }
        #expect(view.count == 500)
        #expect(dropped == 0)
    }
}
