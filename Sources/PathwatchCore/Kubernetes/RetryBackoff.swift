/// Exponential backoff for API requests: `initial`, doubling per failure up to `maximum`, back
/// to `initial` after a success. The API is never on the detection path, so waiting is cheap.
public struct RetryBackoff: Sendable, Equatable {
    public let initial: Duration
    public let maximum: Duration
    public private(set) var current: Duration
    public private(set) var failures = 0

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(60)) {
        self.initial = initial
        self.maximum = max(initial, maximum)
        current = initial
    }

    /// The wait before the next attempt after a failure.
    public mutating func failed() -> Duration {
        let wait = current
        failures += 1
        current = min(maximum, current * 2)
        return wait
    }

    public mutating func succeeded() {
        current = initial
        failures = 0
    }
}
