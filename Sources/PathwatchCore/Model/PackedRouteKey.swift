import Netlink

/// A route's identity (``Route/Key``) in 32 bytes with no references, so that a table of a million
/// of them is one flat allocation the allocator and the hash index never have to chase.
///
/// `Route.Key` holds two `IPPrefix`es (an enum and an `Int` each) and is ~80 bytes; this holds the
/// destination as two words and the rarely used source prefix as an id into an ``InternPool``
/// (0: no source prefix), so equal ids mean equal prefixes within one pool.
///
/// Ordering: IPv4 before IPv6, then table, destination address, prefix length, priority, TOS,
/// type, and the source prefix's id (its order of first appearance in the pool).
public struct PackedRouteKey: Hashable, Comparable, Sendable {
    /// Destination bits 127…64; 0 for IPv4.
    public var high: UInt64
    /// Destination bits 63…0; an IPv4 address in the low 32 bits.
    public var low: UInt64
    public var table: UInt32
    /// The route's metric, 0 when it has none (the kernel keys both the same).
    public var priority: UInt32
    /// Id of the source prefix (`RTA_SRC`) in the owner's pool; 0 for none.
    public var source: UInt32
    public var length: UInt8
    public var tos: UInt8
    public var type: UInt8
    public var isIPv6: Bool

    /// Packs `key`, its source prefix (if any) given as an id the caller interned. Returns nil when
    /// the destination's prefix length does not fit its family (no kernel route has one).
    public init?(_ key: Route.Key, source: UInt32) {
        guard (0...key.destination.address.bitWidth).contains(key.destination.length) else { return nil }
        switch key.destination.address {
        case .v4(let v):
            (high, low, isIPv6) = (0, UInt64(v), false)
        case .v6(let h, let l):
            (high, low, isIPv6) = (h, l, true)
        }
        table = key.table.rawValue
        priority = key.priority
        self.source = source
        length = UInt8(key.destination.length)
        tos = key.tos
        type = key.type.rawValue
    }

    public var family: AddressFamily { isIPv6 ? .inet6 : .inet }

    public var destination: IPPrefix {
        IPPrefix(address: isIPv6 ? .v6(high, low) : .v4(UInt32(truncatingIfNeeded: low)), length: Int(length))
    }

    /// The unpacked key, given the source prefix its id stands for.
    public func unpacked(source: IPPrefix?) -> Route.Key {
        Route.Key(
            table: RouteTable(rawValue: table), destination: destination, source: source, tos: tos, priority: priority,
            type: RouteType(rawValue: type))
    }

    /// A 64-bit hash for the route index: one multiply-xorshift pass over the words, seeded per
    /// table so that a crafted set of prefixes cannot be chosen to collide everywhere. `Hasher`
    /// (SipHash) is three times slower here, and building the model is dominated by hashing.
    @inline(__always)
    func hash(seed: UInt64) -> UInt64 {
        var h = (low ^ seed) &* 0x9E37_79B9_7F4A_7C15
        h ^= (high &+ (h >> 31)) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= (UInt64(table) << 32 | UInt64(priority)) &* 0x1656_67B1_9E37_79F9
        h ^= UInt64(source) << 32 | UInt64(length) << 24 | UInt64(tos) << 16 | UInt64(type) << 8 | (isIPv6 ? 1 : 0)
        h = (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }

    public static func < (a: Self, b: Self) -> Bool {
        if a.isIPv6 != b.isIPv6 { return !a.isIPv6 }
        if a.table != b.table { return a.table < b.table }
        if a.high != b.high { return a.high < b.high }
        if a.low != b.low { return a.low < b.low }
        if a.length != b.length { return a.length < b.length }
        if a.priority != b.priority { return a.priority < b.priority }
        if a.tos != b.tos { return a.tos < b.tos }
        if a.type != b.type { return a.type < b.type }
        return a.source < b.source
    }
}
