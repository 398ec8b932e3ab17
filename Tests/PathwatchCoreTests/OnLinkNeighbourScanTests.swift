import Netlink
import Testing

@testable import PathwatchCore

/// Issue 14, without configuration: an unanswered ARP/ND entry on an interface for an address
/// outside its subnets is an on-link route to another subnet. One finding per interface,
/// confirmed by the route lookup, cleared when the route is right again.
@Suite("On-link signature from the neighbour table")
struct OnLinkNeighbourScanTests {
    static let net1 = RouteLab.net1.index
    static let onLink = Route(
        destination: IPPrefix("10.5.2.0/24")!, protocolID: .static, scope: .link, nextHops: [NextHop(interface: net1)])

    /// The lab's model with `entries` in the neighbour tables.
    static func model(_ lab: RouteLab, _ entries: [(String, NeighbourState, InterfaceIndex)]) -> NodeState {
        var state = lab.table.model()
        for (address, neighbourState, interface) in entries {
            let ip = IPAddress(address)!
            state.apply(.neighbourChanged(Neighbour(family: ip.family, interface: interface, state: neighbourState, address: ip)))
        }
        return state
    }

    @Test func onlyAddressesOutsideTheInterfacesSubnetsAreCandidates() {
        let lab = RouteLab()
        let state = Self.model(
            lab,
            [
                ("10.5.2.10", .failed, Self.net1), ("10.4.2.1", .failed, Self.net1), ("fe80::1", .failed, Self.net1),
                ("10.5.2.11", .reachable, Self.net1), ("10.9.9.9", .failed, InterfaceIndex(42)),
            ])
        let candidates = OnLinkNeighbourScan.candidates(in: state)
        #expect(candidates.map(\.address) == [IPAddress("10.5.2.10")!])
        #expect(candidates.first?.source == IPAddress("10.4.2.10"))
        #expect(candidates.first?.subnets == [IPPrefix("10.4.2.0/24")!])
    }

    @Test func aFailedEntryBehindAnOnLinkRouteIsOneFindingPerInterface() {
        let lab = RouteLab()
        lab.table.routes.append(Self.onLink)
        let state = Self.model(lab, [("10.5.2.10", .failed, Self.net1), ("10.5.2.11", .failed, Self.net1)])
        var scan = OnLinkNeighbourScan()
        var routeSearches = 0
        let first = scan.tick(OnLinkNeighbourScan.candidates(in: state), at: lab.now) {
            lab.table.lookup(to: $0, from: $1)
        } onLinkRoute: {
            routeSearches += 1
            return OnLinkNeighbourScan.onLinkRoute(for: $0, in: state)
        }
        #expect(first.reports.count == 1)
        let report = first.reports[0]
        #expect(report.key == "on-link net1")
        #expect(report.opened)
        #expect(report.evidence.addresses == ["10.5.2.10", "10.5.2.11"])
        #expect(report.evidence.unanswered == 2)
        #expect(report.evidence.lookup == "ip route get 10.5.2.10 from 10.4.2.10: leaves by net1 on-link, without a gateway")
        #expect(report.evidence.route == "10.5.2.0/24 dev net1")
        #expect(report.remediation.commands == ["ip route replace 10.5.2.0/24 via 10.4.2.1 dev net1"])
        #expect(report.remediation.text.hasPrefix("The on-link route `10.5.2.0/24 dev net1` sends traffic for 10.5.2.10 out of net1"))
        let second = scan.tick(OnLinkNeighbourScan.candidates(in: state), at: lab.now) {
            lab.table.lookup(to: $0, from: $1)
        } onLinkRoute: {
            routeSearches += 1
            return OnLinkNeighbourScan.onLinkRoute(for: $0, in: state)
        }
        #expect(second.reports.first?.opened == false, "refreshed, not counted again")
        #expect(second.reports.first?.evidence.route == "10.5.2.0/24 dev net1", "remembered")
        #expect(routeSearches == 1, "the routes are searched when the finding opens, not every second")
        // Fixed by hand: the stale FAILED entries linger, the lookup now has a gateway.
        lab.table.routes.removeAll { $0 == Self.onLink }
        lab.table.routes.append(
            Route(
                destination: IPPrefix("10.5.2.0/24")!, protocolID: .static,
                nextHops: [NextHop(gateway: IPAddress("10.4.2.1"), interface: Self.net1)]))
        let fixed = scan.tick(OnLinkNeighbourScan.candidates(in: state), at: lab.now) { lab.table.lookup(to: $0, from: $1) }
        #expect(fixed.reports.isEmpty)
        #expect(fixed.cleared == ["net1"])
    }

    @Test func resolutionUnderWayCountsOnlyAfterTheKernelsTimeout() {
        let lab = RouteLab()
        lab.table.routes.append(Self.onLink)
        let state = Self.model(lab, [("10.5.2.10", .incomplete, Self.net1)])
        var scan = OnLinkNeighbourScan()
        let lookup: (IPAddress, IPAddress) -> RouteLookupOutcome = { lab.table.lookup(to: $0, from: $1) }
        #expect(scan.tick(OnLinkNeighbourScan.candidates(in: state), at: lab.now, lookup: lookup).reports.isEmpty)
        #expect(scan.tick(OnLinkNeighbourScan.candidates(in: state), at: lab.now + .seconds(2), lookup: lookup).reports.isEmpty)
        #expect(scan.tick(OnLinkNeighbourScan.candidates(in: state), at: lab.now + .seconds(3), lookup: lookup).reports.count == 1)
    }

    /// A dead host reached via the gateway, or traffic that leaves by another interface, is not
    /// this signature (the live-traffic scan covers the latter).
    @Test func anUnansweredAddressNotRoutedOnLinkIsNoFinding() {
        let lab = RouteLab()
        let state = Self.model(lab, [("10.5.2.10", .failed, Self.net1)])
        var scan = OnLinkNeighbourScan()
        var lookups = 0
        let tick = scan.tick(OnLinkNeighbourScan.candidates(in: state), at: lab.now) {
            lookups += 1
            return lab.table.lookup(to: $0, from: $1)
        }
        #expect(lookups == 1)
        #expect(tick.reports.isEmpty, "the lab routes 10.5.2.10 out of net0 via 10.4.1.1")
    }

    @Test func aFloodOfEntriesCostsBoundedLookups() {
        let lab = RouteLab()
        lab.table.routes.append(
            Route(destination: IPPrefix("10.6.0.0/16")!, protocolID: .static, scope: .link, nextHops: [NextHop(interface: Self.net1)]))
        let entries = (0..<500).map { ("10.6.\($0 / 250).\($0 % 250 + 1)", NeighbourState.failed, Self.net1) }
        let state = Self.model(lab, entries)
        var scan = OnLinkNeighbourScan()
        var lookups = 0
        let tick = scan.tick(OnLinkNeighbourScan.candidates(in: state), at: lab.now) {
            lookups += 1
            return lab.table.lookup(to: $0, from: $1)
        }
        #expect(lookups == OnLinkNeighbourScan.lookupLimit)
        #expect(tick.reports.count == 1)
        #expect(tick.reports[0].evidence.addresses.count == OnLinkNeighbourReport.listed)
        #expect(tick.reports[0].evidence.route == nil, "no route search given: the fix says how to find it")
        #expect(tick.reports[0].remediation.commands == ["ip route show match 10.6.0.1", "ip route replace PREFIX via 10.4.2.1 dev net1"])
    }
}
