/// Tells a task that the configuration in force changed (a SIGHUP reload that changed
/// something), so a service that is off by configuration can wait for it instead of polling.
///
/// One listener (the stream is single-consumer); notices that arrive while it is busy coalesce
/// into one.
public final class ConfigurationChanges: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func notify() { continuation.yield() }

    /// For the one listener: `next()` returns after a change, or nil once its task is cancelled.
    public func makeIterator() -> AsyncStream<Void>.Iterator { stream.makeAsyncIterator() }
}
