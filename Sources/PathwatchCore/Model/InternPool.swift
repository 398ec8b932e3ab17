/// Distinct values stored once and named by a small id, with a use count each, so that a million
/// routes through the same few gateways hold a 4-byte id instead of their own copy (and, for
/// multipath routes, their own array).
///
/// Id 0 is never handed out: callers use it for "none". A value whose last user releases it is
/// forgotten and its id reused, so the pool stays as large as the distinct values in use, not as
/// all those ever seen.
struct InternPool<Value: Hashable & Sendable>: Sendable {
    private var values: [Value?] = [nil]
    private var uses: [UInt32] = [0]
    private var ids: [Value: UInt32] = [:]
    private var freeIDs: [UInt32] = []
    /// The last value interned: a dump's consecutive routes mostly share their next hops, and an
    /// equality check is cheaper than hashing them.
    private var lastID: UInt32 = 0

    /// Distinct values in use.
    var count: Int { ids.count }

    /// The id of `value`, counting one more use of it.
    mutating func retain(_ value: Value) -> UInt32 {
        if lastID != 0, values[Int(lastID)] == value {
            uses[Int(lastID)] += 1
            return lastID
        }
        if let id = ids[value] {
            uses[Int(id)] += 1
            lastID = id
            return id
        }
        let id: UInt32
        if let reused = freeIDs.popLast() {
            id = reused
            values[Int(id)] = value
            uses[Int(id)] = 1
        } else {
            id = UInt32(values.count)
            values.append(value)
            uses.append(1)
        }
        ids[value] = id
        lastID = id
        return id
    }

    /// Counts one more use of an id already handed out (a copied record).
    mutating func retain(id: UInt32) {
        guard id != 0 else { return }
        uses[Int(id)] += 1
    }

    /// Counts one use less; the value is forgotten when none is left. Id 0 is ignored.
    mutating func release(_ id: UInt32) {
        guard id != 0 else { return }
        uses[Int(id)] -= 1
        guard uses[Int(id)] == 0, let value = values[Int(id)] else { return }
        ids.removeValue(forKey: value)
        values[Int(id)] = nil
        freeIDs.append(id)
        if lastID == id { lastID = 0 }
    }

    /// The id of `value` if it is in use, without counting a use (lookups).
    func id(of value: Value) -> UInt32? { ids[value] }

    /// The value an id stands for; nil for 0.
    func value(_ id: UInt32) -> Value? { values[Int(id)] }

    /// How many users `id` has (tests).
    func uses(of id: UInt32) -> UInt32 { uses[Int(id)] }

    mutating func removeAll() { self = InternPool() }
}
