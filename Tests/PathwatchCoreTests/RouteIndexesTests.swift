import Netlink
import Testing

@testable import PathwatchCore

@Suite("Route indexes: own routes, default routes and uplinks kept in step with the table")
struct RouteIndexesTests {
    let net0 = InterfaceIndex(rawValue: 2)
    let net1 = InterfaceIndex(rawValue: 3)

    func route(
        _ prefix: String, via gateway: String? = nil, dev link: InterfaceIndex, protocolID: RouteProtocol = .boot, metric: UInt32? = nil,
        table: RouteTable = .main
    ) -> Route {
        Route(
            destination: IPPrefix(prefix)!, table: table, protocolID: protocolID, priority: metric,
            nextHops: [NextHop(gateway: gateway.flatMap(IPAddress.init), interface: link)])
    }

    @Test func eachIndexAnswersItsQuestion() {
        var state = NodeState()
        state.apply(.routeAdded(route("0.0.0.0/0", via: "10.0.0.1", dev: net0)))
        state.apply(.routeAdded(route("10.0.0.0/24", dev: net0)))
        state.apply(.routeAdded(route("10.5.2.0/24", via: "10.5.1.1", dev: net1, protocolID: .pathwatch)))
        #expect(state.routeIndexes.uplinks == [net0, net1])
        #expect(state.routeIndexes.defaults == [route("0.0.0.0/0", dev: net0).key])
        #expect(state.routeIndexes.own == [route("10.5.2.0/24", dev: net1).key])

        state.apply(.routeRemoved(route("10.5.2.0/24", via: "10.5.1.1", dev: net1, protocolID: .pathwatch)))
        #expect(state.routeIndexes.uplinks == [net0], "net1's only gateway route went")
        #expect(state.routeIndexes.own.isEmpty)
        // Replaced in place (same key): an on-link route is no uplink any more.
        state.apply(.routeAdded(route("0.0.0.0/0", dev: net0)))
        #expect(state.routeIndexes.uplinks.isEmpty)
        #expect(state.routeIndexes.defaults.count == 1)
    }

    @Test func multipathRoutesCountEveryGatewayHop() {
        var state = NodeState()
        let ecmp = Route(
            destination: IPPrefix("0.0.0.0/0")!,
            nextHops: [
                NextHop(gateway: IPAddress("10.0.0.1"), interface: net0), NextHop(gateway: IPAddress("10.1.0.1"), interface: net1),
            ])
        state.apply(.routeAdded(ecmp))
        #expect(state.routeIndexes.uplinks == [net0, net1])
        state.apply(.routeRemoved(ecmp))
        #expect(state.routeIndexes.uplinks.isEmpty)
    }

    /// Whatever the sequence of adds, replacements, removals and bulk replacements, the indexes
    /// equal what one pass over the table would find.
    @Test(arguments: 1...20) func theIndexesAlwaysMatchAFullPass(seed: UInt64) {
        var random = SplitMix(seed: seed)
        var state = NodeState()
        let links = [net0, net1]
        func randomRoute() -> Route {
            let prefix = Int.random(in: 0..<4, using: &random) == 0 ? "0.0.0.0/0" : "10.\(Int.random(in: 0..<4, using: &random)).0.0/16"
            let gateway = Bool.random(using: &random) ? "10.9.0.\(Int.random(in: 1...3, using: &random))" : nil
            return route(
                prefix, via: gateway, dev: links.randomElement(using: &random)!,
                protocolID: Bool.random(using: &random) ? .pathwatch : .boot, metric: UInt32.random(in: 0...2, using: &random),
                table: Bool.random(using: &random) ? .main : RouteTable(rawValue: 100))
        }
        for _ in 0..<300 {
            switch Int.random(in: 0..<20, using: &random) {
            case 0: state.removeRoutes(family: .inet)
            case 1: state.replaceRoutes((0..<5).map { _ in randomRoute() })
            case 2...9: state.apply(.routeRemoved(randomRoute()))
            default: state.apply(.routeAdded(randomRoute()))
            }
            let pass = RouteIndexes(state.routes.values)
            #expect(state.routeIndexes.own == pass.own)
            #expect(state.routeIndexes.defaults == pass.defaults)
            #expect(state.routeIndexes.uplinks == pass.uplinks)
        }
    }
}
