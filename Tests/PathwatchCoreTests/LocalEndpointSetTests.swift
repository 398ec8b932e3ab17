import Netlink
import PathwatchCore
import Testing

/// The probe's sets of node-local endpoints, planned without the kernel: merged intervals,
/// widened at once, narrowed after the delay, one transaction per change.
@Suite("Local endpoint sets")
struct LocalEndpointSetTests {
    let t0 = ContinuousClock.now

    static func a(_ text: String) -> IPAddress { IPAddress(text)! }
    static func range(_ first: String, _ last: String) -> AddressRange { AddressRange(first: a(first), last: a(last)) }

    @Test func addressesAndSubnetsBecomeDisjointMergedIntervals() {
        let endpoints = LocalEndpoints(
            addresses: [Self.a("10.0.1.10"), Self.a("10.244.0.1"), Self.a("10.0.1.20"), Self.a("10.0.1.21"), Self.a("fd00:1::2")],
            subnets: [IPPrefix("10.244.0.0/24")!, IPPrefix("fd00:1::/126")!])
        let merged = AddressRange.merged(LocalEndpointSetPlanner.ranges(of: endpoints))
        #expect(
            merged == [
                Self.range("10.0.1.10", "10.0.1.10"), Self.range("10.0.1.20", "10.0.1.21"), Self.range("10.244.0.0", "10.244.0.255"),
                Self.range("fd00:1::", "fd00:1::3"),
            ], "the bridge's own address inside its subnet, adjacent pods and the v6 pod inside its /126: \(merged)")
        #expect(merged.allSatisfy { $0.end != nil })
        #expect(Self.range("10.244.0.0", "10.244.0.255").end == Self.a("10.244.1.0"), "the end element is the next address")
    }

    @Test func theHighestAddressHasNoEndElementAndRangesOfTwoFamiliesNeverMerge() {
        #expect(Self.range("255.255.255.0", "255.255.255.255").end == nil)
        #expect(AddressRange(IPPrefix("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120")!).end == nil)
        #expect(AddressRange(IPPrefix("fd00::/64")!).last == Self.a("fd00::ffff:ffff:ffff:ffff"))
        #expect(Self.a("fd00::ffff:ffff:ffff:ffff").successor == Self.a("fd00:0:0:1::"))
        let merged = AddressRange.merged([Self.range("255.255.255.255", "255.255.255.255"), Self.range("::", "::1")])
        #expect(merged.count == 2)
    }

    @Test func aNewPodIsAddedAtOnceAndAGoneOneLeavesAfterTheDelay() {
        var planner = LocalEndpointSetPlanner(narrowDelay: .seconds(30))
        let node = Self.a("10.0.1.10")
        var change = planner.plan(LocalEndpoints(addresses: [node]), at: t0)
        #expect(change == .init(remove: [], add: [Self.range("10.0.1.10", "10.0.1.10")]))
        planner.applied(change)
        #expect(planner.plan(LocalEndpoints(addresses: [node]), at: t0 + .seconds(1)).isEmpty, "nothing changed, nothing to commit")

        // A pod appears: added in the same turn.
        change = planner.plan(LocalEndpoints(addresses: [node, Self.a("10.0.1.20")]), at: t0 + .seconds(2))
        #expect(change.add == [Self.range("10.0.1.20", "10.0.1.20")] && change.remove.isEmpty)
        planner.applied(change)
        // An adjacent pod reshapes the interval: removed and added in one transaction.
        change = planner.plan(LocalEndpoints(addresses: [node, Self.a("10.0.1.20"), Self.a("10.0.1.21")]), at: t0 + .seconds(3))
        #expect(change == .init(remove: [Self.range("10.0.1.20", "10.0.1.20")], add: [Self.range("10.0.1.20", "10.0.1.21")]))
        planner.applied(change)

        // Both pods go: nothing removed before the delay.
        change = planner.plan(LocalEndpoints(addresses: [node]), at: t0 + .seconds(10))
        #expect(change.isEmpty)
        #expect(planner.nextNarrowing == t0 + .seconds(40))
        #expect(planner.plan(LocalEndpoints(addresses: [node]), at: t0 + .seconds(39)).isEmpty)
        change = planner.plan(LocalEndpoints(addresses: [node]), at: t0 + .seconds(40))
        #expect(change == .init(remove: [Self.range("10.0.1.20", "10.0.1.21")], add: []))
        planner.applied(change)
        #expect(planner.installed == [Self.range("10.0.1.10", "10.0.1.10")])
        #expect(planner.nextNarrowing == nil)
    }

    @Test func aPodThatComesBackWithinTheDelayIsNeverRemoved() {
        var planner = LocalEndpointSetPlanner(narrowDelay: .seconds(30))
        let pod = LocalEndpoints(addresses: [Self.a("10.0.1.20")])
        planner.applied(planner.plan(pod, at: t0))
        #expect(planner.plan(LocalEndpoints(), at: t0 + .seconds(1)).isEmpty)
        #expect(planner.plan(pod, at: t0 + .seconds(5)).isEmpty)
        #expect(planner.nextNarrowing == nil)
        #expect(planner.plan(pod, at: t0 + .seconds(60)).isEmpty)
    }

    @Test func afterTheTableIsRecreatedEverythingIsAddedAgain() {
        var planner = LocalEndpointSetPlanner()
        let endpoints = LocalEndpoints(addresses: [Self.a("10.0.1.10")], subnets: [IPPrefix("10.244.0.0/24")!])
        planner.applied(planner.plan(endpoints, at: t0))
        planner.reset()
        let change = planner.plan(endpoints, at: t0 + .seconds(1))
        #expect(change.add.count == 2 && change.remove.isEmpty)
    }
}
