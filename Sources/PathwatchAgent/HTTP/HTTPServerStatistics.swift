import Synchronization

/// Counters of the HTTP endpoint, safe to read from any thread, for the agent to export as metrics.
public final class HTTPServerStatistics: Sendable {
    /// A consistent copy of all counters.
    public struct Snapshot: Sendable, Hashable {
        /// Responses sent, by status class: `1xx` … `5xx` at indices 1 … 5 (index 0 is unused).
        public var responsesByStatusClass: [Int]
        /// Connections accepted and served.
        public var acceptedConnections: Int
        /// Connections closed at once because `maxConnections` were already open.
        public var rejectedConnections: Int
        /// Connections currently open.
        public var openConnections: Int
        /// Connections closed after the idle timeout.
        public var idleTimeouts: Int
        /// Requests refused with 431 because their head was too large.
        public var requestHeadTooLarge: Int
        /// Requests refused with 413 because they carried a body over the limit.
        public var requestBodyTooLarge: Int
        /// Connections answered with 400 because they sent bytes that are not HTTP/1.x.
        public var malformedRequests: Int

        public init() {
            self.responsesByStatusClass = Array(repeating: 0, count: 6)
            self.acceptedConnections = 0
            self.rejectedConnections = 0
            self.openConnections = 0
            self.idleTimeouts = 0
            self.requestHeadTooLarge = 0
            self.requestBodyTooLarge = 0
            self.malformedRequests = 0
        }

        /// Responses sent with a status code in `statusClass`xx (1 … 5); 0 for other values.
        public func responses(statusClass: Int) -> Int {
            (1...5).contains(statusClass) ? self.responsesByStatusClass[statusClass] : 0
        }
    }

    private let state = Mutex(Snapshot())

    public init() {}

    /// A consistent copy of all counters.
    public func snapshot() -> Snapshot {
        self.state.withLock { $0 }
    }

    func recordResponse(statusCode: Int) {
        let statusClass = statusCode / 100
        guard (1...5).contains(statusClass) else { return }
        self.state.withLock { $0.responsesByStatusClass[statusClass] += 1 }
    }

    /// Admits a new connection if fewer than `limit` are open; counts it either way.
    /// - Returns: whether the connection may be served, and the number open after the decision.
    func admitConnection(limit: Int) -> (admitted: Bool, open: Int) {
        self.state.withLock { state in
            guard state.openConnections < limit else {
                state.rejectedConnections += 1
                return (false, state.openConnections)
            }
            state.openConnections += 1
            state.acceptedConnections += 1
            return (true, state.openConnections)
        }
    }

    func connectionClosed() {
        self.state.withLock { $0.openConnections -= 1 }
    }

    func recordIdleTimeout() {
        self.state.withLock { $0.idleTimeouts += 1 }
    }

    func recordRejection(_ rejection: RequestRejection) {
        self.state.withLock { state in
            switch rejection {
            case .headTooLarge: state.requestHeadTooLarge += 1
            case .bodyTooLarge: state.requestBodyTooLarge += 1
            case .malformed: state.malformedRequests += 1
            }
        }
    }
}
