import Netlink

/// The model's routes: every route of every table as a 48-byte record with no references, in one
/// dense array, found through an open-addressing index of 8-byte entries.
///
/// A `[Route.Key: Route]` dictionary cost ~520 bytes per route on a node with a million of them
/// (a ~200-byte entry in up to twice as many buckets) and its inserts dominated building the model
/// from a dump. Here a route is a ``PackedRouteKey`` plus interned ids for what many routes share
/// (next hops, preferred source) or few have (source prefix): ~70 bytes per route at a million,
/// and an insert touches one index entry and the end of the array.
///
/// Lookups take and return ``Route`` values, so readers see the same routes as before; iteration
/// order is unspecified (insertion order, disturbed by removals), as it was.
public struct RouteStore: Sendable {
    /// Dense; a removal moves the last record into the hole.
    private var records: [RouteRecord] = []
    /// 0: empty; otherwise the high 32 bits of the key's hash (which also pick the home slot) and
    /// the record's position + 1 in the low 32.
    private var index: [UInt64] = Array(repeating: 0, count: 16)
    private var seed = UInt64.random(in: .min ... .max)
    private var sources = InternPool<IPPrefix>()
    private var paths = InternPool<Route.Paths>()
    private var preferredSources = InternPool<IPAddress>()
    private var ipv6Count = 0

    public init() {}

    public var count: Int { records.count }
    public var isEmpty: Bool { records.isEmpty }
    /// Routes of one family, kept as routes come and go (a summary must not walk a million).
    public func count(of family: AddressFamily) -> Int {
        switch family {
        case .inet: records.count - ipv6Count
        case .inet6: ipv6Count
        default: 0
        }
    }

    /// Bytes of one stored route, without the index (benchmarks report it).
    public static var recordStride: Int { MemoryLayout<RouteRecord>.stride }

    /// The route stored under `key`, rebuilt from its record.
    public subscript(key: Route.Key) -> Route? {
        guard let packed = lookupKey(key), let position = find(packed).position else { return nil }
        return route(at: position)
    }

    /// Every route, rebuilt one at a time as the sequence is walked.
    public var values: Values { Values(store: self) }

    public struct Values: Sequence, Sendable {
        let store: RouteStore
        public var underestimatedCount: Int { store.count }
        public func makeIterator() -> Iterator { Iterator(store: store) }
        public struct Iterator: IteratorProtocol {
            let store: RouteStore
            var position = 0
            public mutating func next() -> Route? {
                guard position < store.records.count else { return nil }
                defer { position += 1 }
                return store.route(at: position)
            }
        }
    }

    /// What ``upsert(_:)`` did.
    public enum Upsert: Equatable, Sendable {
        case inserted
        case unchanged
        case replaced(Route)
        /// The route's prefix length does not fit its family; nothing stored.
        case rejected
    }

    /// Adds `route`, or replaces the route with the same key (as `RTM_NEWROUTE` does).
    public mutating func upsert(_ route: Route) -> Upsert {
        let sourceID = route.source.map { sources.retain($0) } ?? 0
        guard let key = PackedRouteKey(route.key, source: sourceID) else {
            sources.release(sourceID)
            return .rejected
        }
        let record = RouteRecord(
            key: key, paths: route.paths == .none ? 0 : paths.retain(route.paths),
            preferredSource: route.preferredSource.map { preferredSources.retain($0) } ?? 0,
            protocolID: route.protocolID.rawValue, scope: route.scope.rawValue, hasPriority: route.priority != nil)
        var (slot, position) = find(key)
        if let position {
            // Same key, same source prefix: the stored record already holds a use of it.
            sources.release(sourceID)
            let old = records[position]
            // Rebuilt before its uses are given back, which may forget what only it used.
            let replaced = old == record ? nil : unpack(old, sourceID: sourceID)
            release(old)
            records[position] = record
            return replaced.map { .replaced($0) } ?? .unchanged
        }
        if (records.count + 1) * 4 > index.count * 3 {
            resizeIndex(to: index.count * 2)
            slot = find(key).slot
        }
        records.append(record)
        index[slot] = entry(hash: key.hash(seed: seed), position: records.count - 1)
        if key.isIPv6 { ipv6Count += 1 }
        return .inserted
    }

    /// Removes the route stored under `key`; returns it.
    public mutating func remove(_ key: Route.Key) -> Route? {
        guard let packed = lookupKey(key) else { return nil }
        let (slot, found) = find(packed)
        guard let position = found else { return nil }
        let old = route(at: position)
        release(records[position])
        sources.release(records[position].key.source)
        if records[position].key.isIPv6 { ipv6Count -= 1 }
        vacate(slot)
        let last = records.count - 1
        if position != last {
            let moved = records[last]
            records[position] = moved
            let movedSlot = indexSlot(holding: last, hash: moved.key.hash(seed: seed))
            index[movedSlot] = entry(hash: moved.key.hash(seed: seed), position: position)
        }
        records.removeLast()
        return old
    }

    /// Removes every route of `family`.
    public mutating func removeAll(family: AddressFamily) {
        let ipv6 = family == .inet6
        guard family == .inet || ipv6 else { return }
        var kept = 0
        for i in records.indices {
            if records[i].key.isIPv6 == ipv6 {
                release(records[i])
                sources.release(records[i].key.source)
            } else {
                records[kept] = records[i]
                kept += 1
            }
        }
        records.removeLast(records.count - kept)
        if ipv6 { ipv6Count = 0 }
        rebuildIndex()
    }

    public mutating func removeAll(keepingCapacity: Bool = false) {
        records.removeAll(keepingCapacity: keepingCapacity)
        index = Array(repeating: 0, count: keepingCapacity ? index.count : 16)
        sources.removeAll()
        paths.removeAll()
        preferredSources.removeAll()
        ipv6Count = 0
    }

    /// Makes room for `count` routes, so that a dump of that many neither regrows the array nor
    /// rehashes the index on the way.
    public mutating func reserveCapacity(_ count: Int) {
        records.reserveCapacity(count)
        var slots = index.count
        while count * 4 > slots * 3 { slots *= 2 }
        if slots != index.count { resizeIndex(to: slots) }
    }

    /// Distinct interned values in use: source prefixes, path sets, preferred sources (tests).
    var internedCounts: (sources: Int, paths: Int, preferredSources: Int) {
        (sources.count, paths.count, preferredSources.count)
    }

    // MARK: - Records

    private func route(at position: Int) -> Route { unpack(records[position], sourceID: records[position].key.source) }

    private func unpack(_ record: RouteRecord, sourceID: UInt32) -> Route {
        let key = record.key
        var route = Route(
            destination: key.destination, source: sources.value(sourceID), tos: key.tos, table: RouteTable(rawValue: key.table),
            protocolID: RouteProtocol(rawValue: record.protocolID), scope: RouteScope(rawValue: record.scope),
            type: RouteType(rawValue: key.type), priority: record.hasPriority ? key.priority : nil,
            preferredSource: preferredSources.value(record.preferredSource))
        if let stored = paths.value(record.paths) { route.paths = stored }
        return route
    }

    /// Gives back a record's uses of the shared values, except its source prefix: the key (and so
    /// the source's use) is the same for a replacement, and a removal releases it separately.
    private mutating func release(_ record: RouteRecord) {
        paths.release(record.paths)
        preferredSources.release(record.preferredSource)
    }

    /// The packed form of a key for a lookup; nil when no stored route can have it.
    private func lookupKey(_ key: Route.Key) -> PackedRouteKey? {
        var sourceID: UInt32 = 0
        if let source = key.source {
            guard let id = sources.id(of: source) else { return nil }
            sourceID = id
        }
        return PackedRouteKey(key, source: sourceID)
    }

    // MARK: - Index (linear probing, backward-shift deletion: no tombstones to accumulate)

    private var mask: Int { index.count - 1 }

    private func entry(hash: UInt64, position: Int) -> UInt64 { hash & 0xFFFF_FFFF_0000_0000 | UInt64(position + 1) }

    private func home(_ entry: UInt64) -> Int { Int(truncatingIfNeeded: entry >> 32) & mask }

    /// The slot holding `key` and its record's position, or the empty slot where it would go.
    private func find(_ key: PackedRouteKey) -> (slot: Int, position: Int?) {
        let hash = key.hash(seed: seed)
        let tag = hash >> 32
        var slot = Int(truncatingIfNeeded: tag) & mask
        while true {
            let e = index[slot]
            if e == 0 { return (slot, nil) }
            if e >> 32 == tag {
                let position = Int(truncatingIfNeeded: e & 0xFFFF_FFFF) - 1
                if records[position].key == key { return (slot, position) }
            }
            slot = (slot + 1) & mask
        }
    }

    /// The slot whose entry points at `position` (the record is stored, so it is there).
    private func indexSlot(holding position: Int, hash: UInt64) -> Int {
        let wanted = entry(hash: hash, position: position)
        var slot = Int(truncatingIfNeeded: hash >> 32) & mask
        while index[slot] != wanted { slot = (slot + 1) & mask }
        return slot
    }

    /// Empties `slot`, shifting back the entries after it that probed past it.
    private mutating func vacate(_ slot: Int) {
        var hole = slot
        var next = slot
        while true {
            next = (next + 1) & mask
            let e = index[next]
            if e == 0 { break }
            let h = home(e)
            let staysPut = hole <= next ? (hole < h && h <= next) : (hole < h || h <= next)
            if !staysPut {
                index[hole] = e
                hole = next
            }
        }
        index[hole] = 0
    }

    private mutating func resizeIndex(to slots: Int) {
        let old = index
        index = Array(repeating: 0, count: slots)
        for e in old where e != 0 { place(e) }
    }

    private mutating func rebuildIndex() {
        var slots = 16
        while records.count * 4 > slots * 3 { slots *= 2 }
        index = Array(repeating: 0, count: max(slots, index.count))
        for (position, record) in records.enumerated() { place(entry(hash: record.key.hash(seed: seed), position: position)) }
    }

    private mutating func place(_ e: UInt64) {
        var slot = home(e)
        while index[slot] != 0 { slot = (slot + 1) & mask }
        index[slot] = e
    }
}
