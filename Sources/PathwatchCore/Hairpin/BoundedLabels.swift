/// Keeps label values bounded: the first `limit` values get their own label, later ones share
/// `other`, so a load balancer with thousands of listeners cannot explode a metric. A slot is
/// given back when the value stops mattering (its finding closed), so the names follow the
/// frontends that hairpin now, not the first ones ever seen.
public struct BoundedLabels: Sendable {
    public let limit: Int
    private var known: Set<String> = []
    public static let other = "other"

    public init(limit: Int) { self.limit = max(0, limit) }

    public mutating func label(for value: String) -> String {
        if known.contains(value) { return value }
        guard known.count < limit else { return Self.other }
        known.insert(value)
        return value
    }

    /// Frees `value`'s slot; returns whether it held one.
    @discardableResult
    public mutating func release(_ value: String) -> Bool { known.remove(value) != nil }

    public var count: Int { known.count }
}
