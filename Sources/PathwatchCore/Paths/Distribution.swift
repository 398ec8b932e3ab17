/// A bounded histogram of non-negative integers (congestion windows, RTTs in microseconds).
///
/// Values below 16 have their own bucket (cwnd 1, 2 and 10 stay distinct); above, four buckets
/// per power of two, so a quantile is within 25 % of the truth. 256 counters whatever the
/// number of sockets: memory does not grow with the node.
public struct Distribution: Sendable, Hashable {
    private var buckets = [UInt32](repeating: 0, count: 256)
    public private(set) var count = 0

    public init() {}

    static func bucket(_ value: UInt64) -> Int {
        if value < 16 { return Int(value) }
        let exponent = 63 - value.leadingZeroBitCount  // >= 4
        let sub = Int(value >> UInt64(exponent - 2)) & 3
        return 16 + (exponent - 4) * 4 + sub
    }

    /// The smallest value that falls in `bucket`.
    static func lowerBound(_ bucket: Int) -> UInt64 {
        if bucket < 16 { return UInt64(bucket) }
        let exponent = (bucket - 16) / 4 + 4
        let sub = UInt64((bucket - 16) % 4)
        return (4 + sub) << UInt64(exponent - 2)
    }

    public mutating func add(_ value: UInt64) {
        buckets[Self.bucket(value)] &+= 1
        count += 1
    }

    /// The value at quantile `q` (0…1), as the lower bound of its bucket; nil when empty.
    public func quantile(_ q: Double) -> UInt64? {
        guard count > 0 else { return nil }
        let rank = max(1, Int((Double(count) * min(max(q, 0), 1)).rounded(.up)))
        var seen = 0
        for (index, n) in buckets.enumerated() where n > 0 {
            seen += Int(n)
            if seen >= rank { return Self.lowerBound(index) }
        }
        return nil
    }
}
