import Synchronization

/// Counters of the HTTP endpoint, safe to read from any thread, for the agent to export as metrics.
public final class HTTPServerStatistics: Sendable {
    /// A consistent copy of all counters.
    public struct Snapshot: Sendable, Hashable {
        /// Responses sent, by status class: `1xx` … `5xx` at indices 1 … 5 (index 0 is unused).
        public var responsesByStatusClass: [Int]
        /// Connections accepted and served.
        public var acceptedConnections: Int
        /// Connections closed at once because `maxConnections` were already open (and loopback
        /// reserve connections closed unanswered because they asked for another path).
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
        /// Connections answered with 408 because a request head did not arrive whole in time.
        public var requestHeadTimeouts: Int
        /// Connections closed because a response was not taken by the client in time.
        public var writeTimeouts: Int
        /// Connections from loopback admitted beyond the limit, to the health paths only.
        public var reserveConnections: Int
        /// Of `openConnections`, those admitted from the loopback reserve.
        public var openReserveConnections: Int
        /// `/state` requests being answered now.
        public var stateRequestsInFlight: Int
        /// `/state` requests answered 503 because `maxConcurrentStateRequests` were in flight.
        public var stateRequestsBusy: Int
        /// TLS handshakes that failed (plain HTTP to the TLS port, a refused client certificate)
        /// or did not complete within the request-head deadline.
        public var tlsFailures: Int
        /// Requests answered 401: no, malformed or wrong basic-auth credentials.
        public var unauthorized: Int
        /// Requests answered 429 because bcrypt's budget was spent (a verification running).
        public var authBusy: Int

        public init() {
            self.responsesByStatusClass = Array(repeating: 0, count: 6)
            self.acceptedConnections = 0
            self.rejectedConnections = 0
            self.openConnections = 0
            self.idleTimeouts = 0
            self.requestHeadTooLarge = 0
            self.requestBodyTooLarge = 0
            self.malformedRequests = 0
            self.requestHeadTimeouts = 0
            self.writeTimeouts = 0
            self.reserveConnections = 0
            self.openReserveConnections = 0
            self.stateRequestsInFlight = 0
            self.stateRequestsBusy = 0
            self.tlsFailures = 0
            self.unauthorized = 0
            self.authBusy = 0
        }

        /// Responses sent with a status code in `statusClass`xx (1 … 5); 0 for other values.
        public func responses(statusClass: Int) -> Int {
            (1...5).contains(statusClass) ? self.responsesByStatusClass[statusClass] : 0
        }
    }

    private let state = Mutex(Snapshot())
    /// Connections the ``ConnectionLimiter`` admitted from the loopback reserve, until their
    /// pipeline is set up (the limiter runs on the listener's event loop, the set-up on theirs).
    let reserveAdmissions = Mutex(Set<ObjectIdentifier>())

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

    /// How a new connection was admitted.
    enum Admission: Sendable, Hashable {
        case admitted
        /// Beyond the limit, from loopback: only the health paths are served.
        case reserve
        case refused
    }

    /// Admits a new connection if fewer than `limit` are open, or, from loopback, if fewer than
    /// `reserve` reserve connections are open; counts it either way.
    /// - Returns: the decision, and the number open after it.
    func admitConnection(limit: Int, reserve: Int = 0, loopback: Bool = false) -> (admission: Admission, open: Int) {
        self.state.withLock { state in
            if state.openConnections - state.openReserveConnections < limit {
                state.openConnections += 1
                state.acceptedConnections += 1
                return (.admitted, state.openConnections)
            }
            if loopback && state.openReserveConnections < reserve {
                state.openConnections += 1
                state.openReserveConnections += 1
                state.acceptedConnections += 1
                state.reserveConnections += 1
                return (.reserve, state.openConnections)
            }
            state.rejectedConnections += 1
            return (.refused, state.openConnections)
        }
    }

    func connectionClosed(_ admission: Admission = .admitted) {
        self.state.withLock { state in
            state.openConnections -= 1
            if admission == .reserve { state.openReserveConnections -= 1 }
        }
    }

    /// Takes one of `limit` permits to answer `/state`, or counts a refusal.
    func beginStateRequest(limit: Int) -> Bool {
        self.state.withLock { state in
            guard state.stateRequestsInFlight < limit else {
                state.stateRequestsBusy += 1
                return false
            }
            state.stateRequestsInFlight += 1
            return true
        }
    }

    func endStateRequest() {
        self.state.withLock { $0.stateRequestsInFlight -= 1 }
    }

    /// A reserve connection asked for something other than `/healthz` or `/readyz`: closed
    /// unanswered and counted as refused by the connection limit, which is what it is.
    func recordReserveRefusal() {
        self.state.withLock { $0.rejectedConnections += 1 }
    }

    func recordTLSFailure() {
        self.state.withLock { $0.tlsFailures += 1 }
    }

    func recordAuthRefusal(busy: Bool) {
        self.state.withLock { state in
            if busy { state.authBusy += 1 } else { state.unauthorized += 1 }
        }
    }

    func recordWriteTimeout() {
        self.state.withLock { $0.writeTimeouts += 1 }
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
            case .headTimeout: state.requestHeadTimeouts += 1
            }
        }
    }
}
