import Netlink
import Testing

@testable import PathwatchCore

@Suite("PackedRouteKey")
struct PackedRouteKeyTests {
    static func key(
        _ destination: String, table: UInt32 = 254, priority: UInt32 = 0, tos: UInt8 = 0, type: RouteType = .unicast,
        source: String? = nil
    ) -> Route.Key {
        Route.Key(
            table: RouteTable(rawValue: table), destination: IPPrefix(destination)!, source: source.map { IPPrefix($0)! },
            tos: tos, priority: priority, type: type)
    }

    @Test(arguments: [
        key("10.0.0.0/8"), key("0.0.0.0/0"), key("255.255.255.255/32", table: 0xFFFF_FFFF, priority: 0xFFFF_FFFF),
        key("192.0.2.0/24", tos: 0x10, type: .blackhole), key("::/0"), key("fd00:5::/64", table: 100, priority: 1024),
        key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", type: .unreachable),
        key("2001:db8::/32", source: "2001:db8:1::/48"),
    ])
    func unpacksToTheSameKey(_ key: Route.Key) throws {
        let packed = try #require(PackedRouteKey(key, source: key.source == nil ? 0 : 7))
        #expect(packed.unpacked(source: key.source) == key)
        #expect(packed.family == key.destination.address.family)
        #expect(packed.isIPv6 == (key.destination.address.family == .inet6))
        #expect(packed.source == (key.source == nil ? 0 : 7))
    }

    @Test func isThirtyTwoBytesWithNoReferences() {
        #expect(MemoryLayout<PackedRouteKey>.size == 32)
        #expect(MemoryLayout<PackedRouteKey>.stride == 32)
        #expect(_isPOD(PackedRouteKey.self))
        #expect(RouteStore.recordStride == 48)
        #expect(_isPOD(RouteRecord.self))
    }

    @Test func anIPv4AddressAndTheSameBitsInIPv6AreDifferentKeys() throws {
        let v4 = try #require(PackedRouteKey(Self.key("10.0.0.1/32"), source: 0))
        var sameBits = Self.key("::/0")
        sameBits.destination = IPPrefix(address: .v6(0, 0x0A00_0001), length: 32)
        let v6 = try #require(PackedRouteKey(sameBits, source: 0))
        #expect(v4.low == v6.low && v4.high == v6.high)
        #expect(v4 != v6)
        #expect(v4.hash(seed: 1) != v6.hash(seed: 1))
        #expect(v4 < v6, "IPv4 sorts first")
    }

    @Test func aPrefixLengthBeyondTheFamilyIsRefused() {
        var bad = Self.key("10.0.0.0/8")
        bad.destination.length = 33
        #expect(PackedRouteKey(bad, source: 0) == nil)
        bad.destination.length = -1
        #expect(PackedRouteKey(bad, source: 0) == nil)
        var v6 = Self.key("fd00::/8")
        v6.destination.length = 129
        #expect(PackedRouteKey(v6, source: 0) == nil)
    }

    /// The packed order is the order of the unpacked fields: family, table, address, prefix
    /// length, priority, TOS, type.
    @Test func sortsLikeTheFieldsItPacks() throws {
        let ordered = [
            Self.key("10.0.0.0/8", table: 100), Self.key("10.0.0.0/8", table: 254), Self.key("10.0.0.0/16", table: 254),
            Self.key("10.0.0.0/16", table: 254, priority: 5), Self.key("10.0.0.0/16", table: 254, priority: 5, tos: 4),
            Self.key("10.0.0.0/16", table: 254, priority: 5, tos: 4, type: .blackhole), Self.key("10.0.1.0/24"),
            Self.key("192.168.0.0/16"), Self.key("::/0", table: 1), Self.key("fd00::/8"), Self.key("fd00::1/128"),
            Self.key("fe80::/64"),
        ]
        let packed = try ordered.map { try #require(PackedRouteKey($0, source: 0)) }
        #expect(packed == packed.sorted())
        #expect(packed.shuffled().sorted() == packed)
        #expect(Set(packed).count == packed.count)
    }

    @Test func theHashSpreadsSequentialHostRoutes() throws {
        var slots = Set<UInt64>()
        for i in 0..<4096 {
            let key = try #require(PackedRouteKey(Self.key("\(IPAddress.v4(0x0A00_0000 + UInt32(i)))/32"), source: 0))
            slots.insert(key.hash(seed: 42) >> 32 & 8191)
        }
        // 4096 keys into 8192 slots: a uniform hash fills ~3,200; a poor one far fewer.
        #expect(slots.count > 2900, "\(slots.count) distinct home slots")
    }
}
