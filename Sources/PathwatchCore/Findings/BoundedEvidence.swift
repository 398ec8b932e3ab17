extension Array where Element: Equatable {
    /// Adds `value` unless present or the list is full: evidence lists stay bounded under a
    /// storm of distinct ports or addresses.
    public mutating func appendOnce(_ value: Element, limit: Int) {
        if !contains(value), count < limit { append(value) }
    }

    /// Adds `value`, dropping the oldest beyond `limit`: the most recent samples.
    public mutating func appendKeepingLast(_ value: Element, limit: Int) {
        append(value)
        if count > limit { removeFirst(count - limit) }
    }
}
