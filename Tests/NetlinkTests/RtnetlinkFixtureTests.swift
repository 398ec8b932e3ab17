import Testing

@testable import Netlink

/// Decoding of rtnetlink messages recorded from this kernel by scripts/record-rtnetlink-fixtures
/// (the namespace it builds is described in Fixtures/rtnetlink/README.md).
@Suite("rtnetlink fixtures")
struct RtnetlinkFixtureTests {
    @Test func links() throws {
        let links = try Fixture.events("rtnetlink/links.bin").compactMap { event -> Link? in
            if case .linkChanged(let link) = event { return link }
            return nil
        }
        #expect(links.map(\.name) == ["lo", "peer0", "net0"])
        let net0 = try #require(links.first { $0.name == "net0" })
        #expect(net0.kind == "veth")
        #expect(net0.macString == "02:00:00:00:01:0a")
        #expect(net0.mtu == 9001)
        #expect(net0.operState == .up)
        #expect(net0.flags.contains(.up))
        #expect(net0.linkIndex == links.first { $0.name == "peer0" }?.index)
        let stats = try #require(net0.statistics)
        #expect(stats.txBytes > 0)
        let lo = try #require(links.first)
        #expect(lo.kind == nil)
        #expect(lo.flags.contains(.loopback))
    }

    @Test func addresses() throws {
        let addresses = try Fixture.events("rtnetlink/addresses.bin").compactMap { event -> InterfaceAddress? in
            if case .addressAdded(let a) = event { return a }
            return nil
        }
        #expect(addresses.count == 6)
        let v4 = try #require(addresses.first { $0.address == IPAddress("10.4.1.10") })
        #expect(v4.prefixLength == 24)
        #expect(v4.label == "net0")
        #expect(v4.subnet == IPPrefix("10.4.1.0/24"))
        let v6 = try #require(addresses.first { $0.address == IPAddress("fd00:4:1::10") })
        #expect(v6.prefixLength == 64)
        #expect(v6.interface == v4.interface)
        #expect(addresses.contains { $0.address == IPAddress("::1") && $0.prefixLength == 128 })
    }

    @Test func ipv4RoutesInEveryTableWithMultipath() throws {
        let routes = try Fixture.events("rtnetlink/routes-ipv4.bin").compactMap { event -> Route? in
            if case .routeAdded(let r) = event { return r }
            return nil
        }
        #expect(routes.count == 10)
        let table100 = try #require(routes.first { $0.destination == IPPrefix("10.5.2.0/24") })
        #expect(table100.table == RouteTable(rawValue: 100))
        #expect(table100.protocolID == .static)
        #expect(table100.priority == 20)
        #expect(table100.gateway == IPAddress("10.4.1.1"))
        let multipath = try #require(routes.first { $0.destination == IPPrefix("10.6.0.0/16") })
        #expect(multipath.nextHops.map(\.gateway) == [IPAddress("10.4.1.1"), IPAddress("10.4.1.2")])
        #expect(multipath.nextHops.map(\.weight) == [1, 3])
        let defaultRoute = try #require(routes.first { $0.destination == IPPrefix("0.0.0.0/0") })
        #expect(defaultRoute.table == .main)
        let pod = try #require(routes.first { $0.destination == IPPrefix("10.0.1.21/32") })
        #expect(pod.scope == .link)
        #expect(pod.gateway == nil)
        let connected = try #require(routes.first { $0.destination == IPPrefix("10.4.1.0/24") })
        #expect(connected.protocolID == .kernel)
        #expect(connected.preferredSource == IPAddress("10.4.1.10"))
        #expect(routes.filter { $0.table == .local }.count == 5)
        #expect(routes.contains { $0.type == .broadcast })
    }

    @Test func ipv6Routes() throws {
        let routes = try Fixture.events("rtnetlink/routes-ipv6.bin").compactMap { event -> Route? in
            if case .routeAdded(let r) = event { return r }
            return nil
        }
        #expect(routes.count == 8)
        let via = try #require(routes.first { $0.destination == IPPrefix("fd00:5::/64") })
        #expect(via.gateway == IPAddress("fd00:4:1::1"))
        #expect(via.priority == 100)
        #expect(routes.contains { $0.destination == IPPrefix("ff00::/8") && $0.type == .multicast })
    }

    @Test func rules() throws {
        let rules = try Fixture.events("rtnetlink/rules-ipv4.bin") + Fixture.events("rtnetlink/rules-ipv6.bin")
        let decoded = rules.compactMap { event -> Rule? in
            if case .ruleAdded(let r) = event { return r }
            return nil
        }
        #expect(decoded.map(\.priority) == [0, 100, 32766, 32767, 0, 100, 32766])
        let custom = try #require(decoded.first { $0.priority == 100 && $0.family == .inet })
        #expect(custom.source == IPPrefix("10.4.2.10/32"))
        #expect(custom.table == RouteTable(rawValue: 100))
        #expect(decoded.contains { $0.source == IPPrefix("fd00:4:2::10/128") })
    }

    /// The change events, in the order the recording script made them. The veth peer going
    /// down shows the IPv4 gap: its /32 route disappears with no RTM_DELROUTE, which is why
    /// the watcher re-dumps routes when a link goes down.
    @Test func changeEvents() throws {
        let events = try Fixture.events("rtnetlink/events.bin")
        let route = Route(
            destination: IPPrefix("10.7.0.0/24")!, nextHops: [NextHop(gateway: IPAddress("10.4.1.1"), interface: InterfaceIndex(3))])
        #expect(events[0] == .routeAdded(route))
        #expect(events[1] == .routeRemoved(route))
        guard case .addressAdded(let added) = events[2], case .addressRemoved(let removed) = events[4] else {
            Issue.record("expected address add and remove, got \(events[2]) and \(events[4])")
            return
        }
        #expect(added.address == IPAddress("10.4.1.11"))
        #expect(removed.key == added.key)
        #expect(events.contains { if case .ruleAdded(let r) = $0 { r.priority == 101 } else { false } })
        #expect(events.contains { if case .ruleRemoved(let r) = $0 { r.priority == 101 } else { false } })
        #expect(events.contains { if case .linkChanged(let l) = $0 { l.name == "peer0" && l.operState == .down } else { false } })
        #expect(!events.contains { if case .routeRemoved(let r) = $0 { r.destination == IPPrefix("10.0.1.21/32") } else { false } })
    }
}

/// `neighbours.bin`: the neighbour dump of the fixture namespace (README), ARP and ND.
@Suite("rtnetlink neighbour fixture")
struct RtnetlinkNeighbourFixtureTests {
    @Test func neighboursOfBothFamiliesWithTheirStates() throws {
        let entries = try Fixture.events("rtnetlink/neighbours.bin").compactMap { event -> Neighbour? in
            if case .neighbourChanged(let n) = event { return n }
            return nil
        }
        let byAddress = Dictionary(entries.compactMap { n in n.address.map { ($0, n) } }, uniquingKeysWith: { a, _ in a })
        let gateway = try #require(byAddress[IPAddress("10.4.1.1")!])
        #expect(gateway.state == .permanent)
        #expect(gateway.linkAddress == [0x02, 0, 0, 0, 0x01, 0x01])
        #expect(byAddress[IPAddress("10.4.1.20")!]?.state == .stale)
        let failed = try #require(byAddress[IPAddress("10.5.2.10")!])
        #expect(failed.state == .failed)
        #expect(failed.linkAddress == nil)
        #expect(failed.interface == gateway.interface)
        #expect(byAddress[IPAddress("fd00:4:1::1")!]?.state == .reachable)
        #expect(byAddress[IPAddress("fd00:4:1::1")!]?.family == .inet6)
        #expect(byAddress[IPAddress("fd00:4:1::30")!]?.state == .incomplete)
    }
}
