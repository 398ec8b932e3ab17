import Netlink
import Testing

@testable import PathwatchCore

@Suite("RouteStore")
struct RouteStoreTests {
    static let gateway = NextHop(gateway: IPAddress("10.255.255.2"), interface: InterfaceIndex(2))

    static func route(_ destination: String, table: UInt32 = 254, priority: UInt32? = nil, hops: [NextHop] = [gateway]) -> Route {
        Route(destination: IPPrefix(destination)!, table: RouteTable(rawValue: table), priority: priority, nextHops: hops)
    }

    static let samples: [Route] = [
        route("10.0.0.0/8"),
        route("0.0.0.0/0", priority: 0),
        route("0.0.0.0/0", table: 100, priority: 100),
        Route(
            destination: IPPrefix("192.0.2.0/24")!, tos: 8, protocolID: .pathwatch, scope: .link, type: .unicast,
            preferredSource: IPAddress("192.0.2.10"), nextHops: [NextHop(interface: InterfaceIndex(3))]),
        Route(destination: IPPrefix("198.51.100.0/24")!, type: .blackhole),
        // Multipath: two weighted paths, each with a gateway.
        route(
            "10.6.0.0/16",
            hops: [
                NextHop(gateway: IPAddress("10.255.255.2"), interface: InterfaceIndex(2), weight: 1),
                NextHop(gateway: IPAddress("10.255.254.2"), interface: InterfaceIndex(4), weight: 3),
            ]),
        route("fd00:5::/64", priority: 1024, hops: [NextHop(gateway: IPAddress("fe80::1"), interface: InterfaceIndex(2))]),
        Route(
            destination: IPPrefix("2001:db8::/32")!, source: IPPrefix("2001:db8:1::/48")!, table: .main, protocolID: .static,
            priority: 1024, nextHops: [NextHop(interface: InterfaceIndex(5))]),
        Route(destination: IPPrefix("fe80::1/128")!, table: .local, protocolID: .kernel, scope: .host, type: .local, priority: 0),
    ]

    @Test func everyKindOfRouteComesBackAsItWasStored() {
        var store = RouteStore()
        for route in Self.samples { #expect(store.upsert(route) == .inserted, "\(route)") }
        #expect(store.count == Self.samples.count)
        for route in Self.samples {
            #expect(store[route.key] == route, "\(route)")
            #expect(store[route.key]?.nextHops == route.nextHops)
        }
        #expect(Set(store.values) == Set(Self.samples))
        #expect(store.count(of: .inet) == 6 && store.count(of: .inet6) == 3)
    }

    @Test func theSameKeyIsReplacedAndAnIdenticalRouteIsNoChange() {
        var store = RouteStore()
        let first = Self.route("10.5.2.0/24")
        #expect(store.upsert(first) == .inserted)
        #expect(store.upsert(first) == .unchanged)
        var moved = first
        moved.nextHops = [NextHop(gateway: IPAddress("10.4.2.1"), interface: InterfaceIndex(3))]
        #expect(store.upsert(moved) == .replaced(first))
        #expect(store[first.key] == moved)
        // No priority and priority 0 are the same key to the kernel, but the route keeps which.
        var zero = moved
        zero.priority = 0
        #expect(store.upsert(zero) == .replaced(moved))
        #expect(store[moved.key]?.priority == 0)
        #expect(store.count == 1)
        #expect(store.remove(first.key) == zero)
        #expect(store.remove(first.key) == nil)
        #expect(store.isEmpty)
    }

    @Test func sharedValuesAreStoredOnceAndForgottenWithTheirLastRoute() {
        var store = RouteStore()
        for i in 0..<1000 { _ = store.upsert(Self.route("\(IPAddress.v4(0x0A00_0000 + UInt32(i)))/32")) }
        _ = store.upsert(Self.samples[7])
        #expect(store.internedCounts == (sources: 1, paths: 2, preferredSources: 0))
        for i in 0..<1000 { _ = store.remove(Self.route("\(IPAddress.v4(0x0A00_0000 + UInt32(i)))/32").key) }
        #expect(store.internedCounts == (sources: 1, paths: 1, preferredSources: 0))
        _ = store.remove(Self.samples[7].key)
        #expect(store.internedCounts == (sources: 0, paths: 0, preferredSources: 0))
        #expect(store[Self.samples[7].key] == nil, "a lookup with an unknown source prefix finds nothing")
    }

    @Test func aPrefixLengthBeyondTheFamilyIsRejected() {
        var store = RouteStore()
        var bad = Self.route("10.0.0.0/8")
        bad.destination.length = 40
        #expect(store.upsert(bad) == .rejected)
        #expect(store.isEmpty)
        #expect(store[bad.key] == nil)
        #expect(store.remove(bad.key) == nil)
    }

    @Test func removingAFamilyKeepsTheOther() {
        var store = RouteStore()
        for route in Self.samples { _ = store.upsert(route) }
        store.removeAll(family: .inet6)
        #expect(store.count == 6 && store.count(of: .inet6) == 0)
        #expect(store.values.allSatisfy { $0.family == .inet })
        for route in Self.samples where route.family == .inet { #expect(store[route.key] == route) }
        #expect(store.internedCounts.sources == 0)
        store.removeAll(family: .inet)
        #expect(store.isEmpty)
        #expect(store.internedCounts == (sources: 0, paths: 0, preferredSources: 0))
    }

    /// Random adds, replaces and removes on a small key space (so that probe chains collide,
    /// wrap around and shift back), checked against a dictionary after every step.
    @Test(arguments: [1, 2, 3, 4])
    func agreesWithADictionaryUnderRandomChurn(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        var store = RouteStore()
        var reference: [Route.Key: Route] = [:]
        if seed == 4 { store.reserveCapacity(3000) }
        let gateways = (1...5).map { NextHop(gateway: .v4(0x0AFF_FF00 + $0), interface: InterfaceIndex(Int32($0))) }
        for step in 0..<20000 {
            let n = UInt32(rng.next() % 2000)
            let v6 = rng.next() % 4 == 0
            let destination = v6 ? IPPrefix(address: .v6(0xFD00 << 48, UInt64(n)), length: 128) : IPPrefix(address: .v4(n << 8), length: 24)
            var route = Route(destination: destination, table: RouteTable(rawValue: UInt32(rng.next() % 3) + 253))
            route.nextHops = rng.next() % 5 == 0 ? [gateways[0], gateways[Int(rng.next() % 5)]] : [gateways[Int(rng.next() % 5)]]
            if rng.next() % 3 == 0 {
                #expect(store.remove(route.key) == reference.removeValue(forKey: route.key), "step \(step)")
            } else {
                let old = reference.updateValue(route, forKey: route.key)
                let expected: RouteStore.Upsert = old == nil ? .inserted : old == route ? .unchanged : .replaced(old!)
                #expect(store.upsert(route) == expected, "step \(step)")
            }
            #expect(store.count == reference.count)
            if step % 1000 == 999 {
                #expect(Set(store.values) == Set(reference.values), "step \(step)")
                for (key, route) in reference { #expect(store[key] == route) }
            }
        }
        #expect(store.count(of: .inet6) == reference.keys.count { $0.destination.address.family == .inet6 })
        for key in Array(reference.keys) { _ = store.remove(key) }
        #expect(store.isEmpty)
        #expect(store.internedCounts == (sources: 0, paths: 0, preferredSources: 0))
    }
}

/// A seeded generator, so a failing churn test fails the same way again.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
