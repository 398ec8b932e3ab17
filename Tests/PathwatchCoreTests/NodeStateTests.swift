import Netlink
import Testing

@testable import PathwatchCore

@Suite("NodeState")
struct NodeStateTests {
    let eth0 = Link(index: InterfaceIndex(2), name: "eth0", flags: [.up], operState: .up)
    let pod = Link(index: InterfaceIndex(7), name: "eni1a2b", kind: "veth", flags: [.up], operState: .up)

    func address(_ text: String, _ length: Int, on link: Link) -> InterfaceAddress {
        InterfaceAddress(interface: link.index, address: IPAddress(text)!, prefixLength: length)
    }

    func hostRoute(_ text: String, via link: Link) -> Route {
        let a = IPAddress(text)!
        return Route(destination: IPPrefix(address: a, length: a.bitWidth), scope: .link, nextHops: [NextHop(interface: link.index)])
    }

    @Test func addingAndRemovingAddressesTracksLocalEndpoints() {
        var state = NodeState()
        state.apply(.linkChanged(eth0))
        let a = address("10.0.1.10", 24, on: eth0)
        let added = state.apply(.addressAdded(a))
        #expect(added)
        #expect(state.isLocalEndpoint(IPAddress("10.0.1.10")!))
        let addedAgain = state.apply(.addressAdded(a))
        #expect(!addedAgain, "re-adding the same address is not a change")
        let removed = state.apply(.addressRemoved(a))
        #expect(removed)
        #expect(!state.isLocalEndpoint(IPAddress("10.0.1.10")!))
        let removedAgain = state.apply(.addressRemoved(a))
        #expect(!removedAgain, "removing an unknown address is not a change")
    }

    @Test func podHostRoutesToVethsAreLocalEndpoints() {
        var state = NodeState()
        state.apply(.linkChanged(eth0))
        state.apply(.linkChanged(pod))
        state.apply(.routeAdded(hostRoute("10.0.1.21", via: pod)))
        state.apply(.routeAdded(hostRoute("fd00::21", via: pod)))
        #expect(state.isLocalEndpoint(IPAddress("10.0.1.21")!))
        #expect(state.isLocalEndpoint(IPAddress("fd00::21")!))
        // A host route to a physical interface is not a pod.
        state.apply(.routeAdded(hostRoute("10.0.1.99", via: eth0)))
        #expect(!state.isLocalEndpoint(IPAddress("10.0.1.99")!))
        // A /24 to the veth is not a host route.
        state.apply(.routeAdded(Route(destination: IPPrefix("10.0.7.0/24")!, nextHops: [NextHop(interface: pod.index)])))
        #expect(!state.isLocalEndpoint(IPAddress("10.0.7.0")!))
        state.apply(.routeRemoved(hostRoute("10.0.1.21", via: pod)))
        #expect(!state.isLocalEndpoint(IPAddress("10.0.1.21")!))
        #expect(state.summary.localEndpoints == 1)
    }

    @Test func anAddressAndAPodRouteForTheSameIPCountSeparately() {
        var state = NodeState()
        state.apply(.linkChanged(pod))
        state.apply(.linkChanged(eth0))
        let ip = "10.0.1.30"
        state.apply(.addressAdded(address(ip, 32, on: eth0)))
        state.apply(.routeAdded(hostRoute(ip, via: pod)))
        state.apply(.addressRemoved(address(ip, 32, on: eth0)))
        #expect(state.isLocalEndpoint(IPAddress(ip)!), "still routed to a pod")
    }

    @Test func routesAreKeyedLikeTheKernelKeysThem() {
        var state = NodeState()
        let main = Route(
            destination: IPPrefix("10.5.2.0/24")!, nextHops: [NextHop(gateway: IPAddress("10.4.2.1"), interface: InterfaceIndex(3))])
        var other = main
        other.table = RouteTable(rawValue: 100)
        var metric = main
        metric.priority = 50
        state.apply(.routeAdded(main))
        state.apply(.routeAdded(other))
        state.apply(.routeAdded(metric))
        #expect(state.routes.count == 3)
        var replaced = main
        replaced.nextHops = [NextHop(gateway: IPAddress("10.4.1.1"), interface: InterfaceIndex(2))]
        let replacedChanged = state.apply(.routeAdded(replaced))
        #expect(replacedChanged, "a replace changes the route")
        #expect(state.routes.count == 3)
        #expect(state.routes[main.key]?.gateway == IPAddress("10.4.1.1"))
        let removedOther = state.apply(.routeRemoved(other))
        #expect(removedOther)
        #expect(state.summary.ipv4Routes == 2)
    }

    @Test func rulesAddAndRemove() {
        var state = NodeState()
        let rule = Rule(family: .inet, priority: 100, source: IPPrefix("10.4.2.10/32")!, table: RouteTable(rawValue: 1002))
        let ruleAdded = state.apply(.ruleAdded(rule))
        #expect(ruleAdded)
        let ruleAddedAgain = state.apply(.ruleAdded(rule))
        #expect(!ruleAddedAgain)
        #expect(state.summary.ipv4Rules == 1)
        let ruleRemoved = state.apply(.ruleRemoved(rule))
        #expect(ruleRemoved)
        #expect(state.rules.isEmpty)
    }

    @Test func replaceAllDropsWhatTheDumpDoesNotHave() {
        var state = NodeState()
        state.apply(.linkChanged(pod))
        state.apply(.routeAdded(hostRoute("10.0.1.21", via: pod)))
        state.apply(.addressAdded(address("10.0.1.10", 24, on: eth0)))
        state.replaceAll(links: [eth0], addresses: [], routes: [], rules: [])
        #expect(state.links.count == 1)
        #expect(state.localEndpoints.isEmpty)
        #expect(state.routes.isEmpty)
    }

    @Test func replaceRoutesKeepsAddressEndpoints() {
        var state = NodeState()
        state.apply(.linkChanged(pod))
        state.apply(.linkChanged(eth0))
        state.apply(.addressAdded(address("10.0.1.10", 24, on: eth0)))
        state.apply(.routeAdded(hostRoute("10.0.1.21", via: pod)))
        state.replaceRoutes([hostRoute("10.0.1.22", via: pod)])
        #expect(state.localEndpoints == [IPAddress("10.0.1.10")!, IPAddress("10.0.1.22")!])
    }

    @Test func linkRemovalAndStatisticsRefresh() {
        var state = NodeState()
        state.apply(.linkChanged(eth0))
        var fresh = eth0
        var stats = LinkStatistics()
        stats.rxBytes = 42
        fresh.statistics = stats
        state.updateStatistics(of: fresh)
        #expect(state.links[eth0.index]?.statistics?.rxBytes == 42)
        let linkRemoved = state.apply(.linkRemoved(eth0))
        #expect(linkRemoved)
        state.updateStatistics(of: fresh)
        #expect(state.links.isEmpty, "a stale statistics dump must not bring a removed link back")
    }

    @Test func removingAFamilysRoutesDropsItsPodEndpointsOnly() {
        var state = NodeState()
        state.apply(.linkChanged(pod))
        state.apply(.routeAdded(hostRoute("10.0.1.21", via: pod)))
        state.apply(.routeAdded(hostRoute("fd00::21", via: pod)))
        state.apply(.routeAdded(Route(destination: IPPrefix("0.0.0.0/0")!, nextHops: [NextHop(gateway: IPAddress("10.0.1.1"))])))
        #expect(state.summary.ipv4Routes == 2 && state.summary.ipv6Routes == 1)
        state.removeRoutes(family: .inet)
        #expect(state.summary.ipv4Routes == 0 && state.summary.ipv6Routes == 1)
        #expect(state.localEndpoints == [IPAddress("fd00::21")!])
        #expect(state.containerEndpoints.count == 1)
    }

    @Test func aRouteThatLosesItsPodShapeStopsBeingAnEndpoint() {
        var state = NodeState()
        state.apply(.linkChanged(pod))
        state.apply(.routeAdded(hostRoute("10.0.1.21", via: pod)))
        var viaGateway = hostRoute("10.0.1.21", via: pod)
        viaGateway.nextHops = [NextHop(gateway: IPAddress("10.0.1.1"), interface: pod.index)]
        let changed = state.apply(.routeAdded(viaGateway))
        #expect(changed)
        #expect(!state.isLocalEndpoint(IPAddress("10.0.1.21")!))
        #expect(state.routes[viaGateway.key] == viaGateway)
    }

    @Test func aRouteWithAnImpossiblePrefixLengthIsIgnored() {
        var state = NodeState()
        var bad = hostRoute("10.0.1.21", via: pod)
        bad.destination.length = 64
        let changed = state.apply(.routeAdded(bad))
        #expect(!changed)
        #expect(state.routes.isEmpty)
        let removed = state.apply(.routeRemoved(bad))
        #expect(!removed)
    }
}
