import Netlink
import Testing

@testable import PathwatchCore

@Suite("Conntrack source selection")
struct ConntrackSourceSelectionTests {
    func hosts(_ texts: [String]) -> [IPPrefix] { texts.map { IPPrefix(address: IPAddress($0)!, length: IPAddress($0)!.bitWidth) } }

    @Test func aSmallNodeIsSelectedAddressByAddress() {
        let selection = ConntrackSourceSelection(covering: hosts(["10.0.1.10", "10.0.1.20", "fd00::10", "fd00::20"]))
        #expect(selection.ipv4 == hosts(["10.0.1.10", "10.0.1.20"]))
        #expect(selection.ipv6 == IPPrefix("fd00::/122"), "one covering IPv6 prefix")
    }

    @Test func hostsInsideASubnetAreNotRepeated() {
        let selection = ConntrackSourceSelection(covering: hosts(["10.244.0.5", "10.0.1.10"]) + [IPPrefix("10.244.0.0/24")!])
        #expect(selection.ipv4 == [IPPrefix("10.0.1.10/32")!, IPPrefix("10.244.0.0/24")!])
    }

    /// Hundreds of pods do not fit 127 prefixes: they are aggregated to /24s, never dropped.
    @Test func manyPodsAreAggregatedIntoCoveringPrefixes() throws {
        let pods = (0..<300).map { "10.244.\($0 / 100).\($0 % 100 + 2)" }
        let selection = ConntrackSourceSelection(covering: hosts(pods + ["10.0.1.10"]))
        let v4 = try #require(selection.ipv4)
        #expect(v4.count <= ConntrackSourceSelection.maxIPv4Prefixes)
        for pod in pods + ["10.0.1.10"] { #expect(v4.contains { $0.contains(IPAddress(pod)!) }, "\(pod) still selected") }
        #expect(!v4.contains { $0.contains(IPAddress("10.245.0.1")!) })
    }

    @Test func endpointsSpreadTooWideLeaveTheFamilyUnfiltered() {
        let everywhere = (0..<200).map { "\($0 + 1).\($0).0.1" }
        #expect(ConntrackSourceSelection(covering: hosts(everywhere)).ipv4 == nil)
        #expect(ConntrackSourceSelection(covering: hosts(["fd00::1", "2600::1"])).ipv6 == nil, "fd00::/8 and 2600::/8 share too little")
    }

    @Test func linkLocalIPv6IsNotSelected() {
        #expect(ConntrackSourceSelection(covering: hosts(["fe80::1", "fd00::10"])).ipv6 == IPPrefix("fd00::10/128"))
    }

    @Test func coverageAndUnion() {
        let a = ConntrackSourceSelection(covering: hosts(["10.0.1.10", "fd00::10"]))
        let b = ConntrackSourceSelection(covering: hosts(["10.0.1.10", "10.0.1.21", "fd00::21"]))
        #expect(!a.covers(b))
        let both = a.union(b)
        #expect(both.covers(a) && both.covers(b))
        #expect(ConntrackSourceSelection.everything.covers(both))
        #expect(!both.covers(.everything))
    }

    @Test func theModelSelectsEndpointsAndBridgeSubnetsButNotLoopback() {
        var node = NodeState()
        node.apply(.linkChanged(Link(index: InterfaceIndex(1), name: "lo")))
        node.apply(.linkChanged(Link(index: InterfaceIndex(2), name: "eth0")))
        node.apply(.linkChanged(Link(index: InterfaceIndex(3), name: "cni0", kind: "bridge")))
        for (index, text, length): (Int32, String, Int) in [(1, "127.0.0.1", 8), (2, "10.0.1.10", 24), (3, "10.244.0.1", 24)] {
            node.apply(.addressAdded(InterfaceAddress(interface: InterfaceIndex(index), address: IPAddress(text)!, prefixLength: length)))
        }
        let selection = node.conntrackSources
        #expect(selection.ipv4 == [IPPrefix("10.0.1.10/32")!, IPPrefix("10.244.0.0/24")!], "the bridge's own .1 is inside its subnet")
        #expect(node.interfaceAddresses.contains(IPAddress("10.0.1.10")!))
    }
}

@Suite("Conntrack filter plan: widen at once, narrow later")
struct ConntrackFilterPlanTests {
    let t0 = ContinuousClock.now
    func selection(_ texts: String...) -> ConntrackSourceSelection {
        ConntrackSourceSelection(covering: texts.map { IPPrefix(address: IPAddress($0)!, length: 32) })
    }

    @Test func theFirstSelectionIsAttachedAtOnce() {
        var plan = ConntrackFilterPlan(narrowAfter: .seconds(30))
        #expect(plan.next(wanted: selection("10.0.1.10"), at: t0) == selection("10.0.1.10"))
        #expect(plan.next(wanted: selection("10.0.1.10"), at: t0 + .seconds(1)) == nil)
    }

    @Test func aNewPodWidensAtOnceAndAGonePodNarrowsLater() {
        var plan = ConntrackFilterPlan(narrowAfter: .seconds(30))
        _ = plan.next(wanted: selection("10.0.1.10", "10.0.1.20"), at: t0)
        // Pod .20 goes, pod .21 comes in the same instant: .21 is let through at once, .20 kept.
        let widened = plan.next(wanted: selection("10.0.1.10", "10.0.1.21"), at: t0 + .seconds(1))
        #expect(widened == selection("10.0.1.10", "10.0.1.20", "10.0.1.21"))
        #expect(plan.next(wanted: selection("10.0.1.10", "10.0.1.21"), at: t0 + .seconds(20)) == nil, "not yet")
        #expect(plan.next(wanted: selection("10.0.1.10", "10.0.1.21"), at: t0 + .seconds(31)) == selection("10.0.1.10", "10.0.1.21"))
        #expect(plan.next(wanted: selection("10.0.1.10", "10.0.1.21"), at: t0 + .seconds(60)) == nil)
    }

    @Test func aPodThatComesBackBeforeNarrowingCostsNothing() {
        var plan = ConntrackFilterPlan(narrowAfter: .seconds(30))
        _ = plan.next(wanted: selection("10.0.1.10", "10.0.1.20"), at: t0)
        #expect(plan.next(wanted: selection("10.0.1.10"), at: t0 + .seconds(1)) == nil)
        #expect(plan.next(wanted: selection("10.0.1.10", "10.0.1.20"), at: t0 + .seconds(5)) == nil)
        #expect(plan.narrowAt == nil)
        #expect(plan.next(wanted: selection("10.0.1.10", "10.0.1.20"), at: t0 + .seconds(60)) == nil)
    }

    /// The watcher ticks every second only while this says so, and rests otherwise.
    @Test func aPendingNarrowingIsVisibleUntilDone() {
        var plan = ConntrackFilterPlan(narrowAfter: .seconds(30))
        let both = selection("10.0.1.10", "10.0.1.20")
        let one = selection("10.0.1.10")
        #expect(!plan.awaitsNarrowing(wanted: both), "nothing attached yet")
        _ = plan.next(wanted: both, at: t0)
        #expect(!plan.awaitsNarrowing(wanted: both))
        #expect(plan.awaitsNarrowing(wanted: one), "pod .20 went: a narrowing is owed")
        _ = plan.next(wanted: one, at: t0 + .seconds(1))
        #expect(plan.awaitsNarrowing(wanted: one))
        #expect(plan.next(wanted: one, at: t0 + .seconds(32)) == one)
        #expect(!plan.awaitsNarrowing(wanted: one))
        #expect(!plan.awaitsNarrowing(wanted: selection("10.0.1.10", "10.0.1.30")), "a widening is attached at once, not owed")
    }

    @Test func resetStartsOver() {
        var plan = ConntrackFilterPlan()
        _ = plan.next(wanted: selection("10.0.1.10"), at: t0)
        plan.reset()
        #expect(plan.next(wanted: selection("10.0.1.10"), at: t0) == selection("10.0.1.10"))
    }
}
