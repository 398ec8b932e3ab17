import Prometheus

/// Exports a counter the kernel keeps (interface bytes, conntrack statistics) through a
/// Prometheus client counter, which can only grow.
///
/// Each refresh adds the growth since the last reading. When the kernel value goes backwards
/// (the interface was recreated, the module reloaded) the counter is reset and restarted at
/// the new value, which Prometheus' `rate()` reads as an ordinary counter reset.
final class KernelCounter: @unchecked Sendable {
    private let counter: Counter
    private var last: UInt64?

    init(_ counter: Counter) { self.counter = counter }

    /// Not thread-safe: callers serialize refreshes (the metrics refresher does).
    func set(_ value: UInt64) {
        if let last, value >= last {
            if value > last { counter.increment(by: Int64(clamping: value - last)) }
        } else {
            if last != nil { counter.reset() }
            counter.increment(by: Int64(clamping: value))
        }
        last = value
    }
}
