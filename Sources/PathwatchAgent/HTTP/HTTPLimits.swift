/// Resource limits of the HTTP endpoint. The defaults suit a scrape endpoint on a node.
///
/// Out-of-range values are clamped when the server starts (sizes and counts to at least 1, the body
/// limit to at least 0, the timeouts to at least 1 ms), so a bad configuration cannot crash it.
public struct HTTPLimits: Sendable, Hashable {
    /// Largest request head (request line and header fields, including line ends) accepted.
    /// A larger head is answered with `431 Request Header Fields Too Large` and the connection is closed.
    public var maxRequestHeadBytes: Int
    /// Largest request body accepted (and discarded). The endpoint serves only `GET` and `HEAD`, so
    /// the default is 0: any request that announces a body is answered with `413 Content Too Large`
    /// and the connection is closed. A request whose body is within this limit is served and the
    /// connection is then closed. Chunked request bodies are always refused.
    public var maxRequestBodyBytes: Int
    /// A connection with no traffic in either direction for this long is closed.
    public var idleTimeout: Duration
    /// Connections open at once. Connections beyond this are closed as soon as they are accepted.
    public var maxConnections: Int
    /// Listen backlog of the server socket.
    public var listenBacklog: Int
    /// A request head must arrive whole within this long, counted from the connection's start for
    /// the first request and from its first byte for later ones; otherwise 408 and the connection
    /// is closed. Bytes trickled one at a time no longer keep a connection alive.
    public var requestHeadTimeout: Duration
    /// A response must be handed to the kernel within this long; a client that does not read is
    /// disconnected instead of holding its connection (and the response's memory) for good.
    public var writeTimeout: Duration
    /// Connections from loopback admitted beyond `maxConnections`, which serve only `/healthz` and
    /// `/readyz`: a local liveness probe is answered even when remote clients hold every slot.
    public var loopbackReserve: Int
    /// `/state` answers being built or written at once; more get 503. Each holds the whole
    /// document (tens of MB on a large node) until the client has taken it.
    public var maxConcurrentStateRequests: Int
    /// Whether `/state` is served to any client (`http.stateFrom: any`); by default only to
    /// loopback clients, others get 403.
    public var stateFromAnyPeer: Bool

    public init(
        maxRequestHeadBytes: Int = 16 * 1024,
        maxRequestBodyBytes: Int = 0,
        idleTimeout: Duration = .seconds(30),
        maxConnections: Int = 256,
        listenBacklog: Int = 256,
        requestHeadTimeout: Duration = .seconds(10),
        writeTimeout: Duration = .seconds(30),
        loopbackReserve: Int = 4,
        maxConcurrentStateRequests: Int = 2,
        stateFromAnyPeer: Bool = false
    ) {
        self.maxRequestHeadBytes = maxRequestHeadBytes
        self.maxRequestBodyBytes = maxRequestBodyBytes
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.listenBacklog = listenBacklog
        self.requestHeadTimeout = requestHeadTimeout
        self.writeTimeout = writeTimeout
        self.loopbackReserve = loopbackReserve
        self.maxConcurrentStateRequests = maxConcurrentStateRequests
        self.stateFromAnyPeer = stateFromAnyPeer
    }
}

extension HTTPLimits {
    /// The limits with out-of-range values clamped, as the server applies them.
    var clamped: HTTPLimits {
        HTTPLimits(
            maxRequestHeadBytes: max(1, self.maxRequestHeadBytes),
            maxRequestBodyBytes: max(0, self.maxRequestBodyBytes),
            idleTimeout: max(.milliseconds(1), self.idleTimeout),
            maxConnections: max(1, self.maxConnections),
            listenBacklog: max(1, self.listenBacklog),
            requestHeadTimeout: max(.milliseconds(1), self.requestHeadTimeout),
            writeTimeout: max(.milliseconds(1), self.writeTimeout),
            loopbackReserve: max(0, self.loopbackReserve),
            maxConcurrentStateRequests: max(1, self.maxConcurrentStateRequests),
            stateFromAnyPeer: self.stateFromAnyPeer
        )
    }
}
