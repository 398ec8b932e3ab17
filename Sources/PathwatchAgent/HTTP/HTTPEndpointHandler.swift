import NIOHTTP1

/// One response of the read-only HTTP endpoint, as produced by an ``HTTPEndpointHandler``.
///
/// The server adds the framing headers (`Content-Type`, `Content-Length`, `Connection`, and
/// `Content-Encoding`/`Vary` for a compressible body) itself.
public struct HTTPResponseBody: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: [UInt8]
    /// Sent gzipped to a client that asks for it (`Accept-Encoding: gzip`), with `Vary: Accept-Encoding`.
    public var compressible: Bool
    /// Headers besides the framing ones (`WWW-Authenticate` on a 401).
    public var extraHeaders: [(name: String, value: String)] = []

    public init(status: HTTPResponseStatus = .ok, contentType: String, body: [UInt8], compressible: Bool = false) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.compressible = compressible
    }

    /// `Content-Type` of the Prometheus text exposition format served on `/metrics`.
    public static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"
    /// `Content-Type` of the JSON documents (`/findings`).
    public static let jsonContentType = "application/json"
    /// `Content-Type` of the short plain-text bodies (`/healthz`, `/readyz`, errors).
    public static let plainTextContentType = "text/plain; charset=utf-8"

    /// A Prometheus text exposition page.
    public static func metrics(_ text: String, status: HTTPResponseStatus = .ok) -> HTTPResponseBody {
        HTTPResponseBody(status: status, contentType: prometheusContentType, body: Array(text.utf8), compressible: true)
    }

    /// A JSON document, already encoded.
    public static func json(_ bytes: [UInt8], status: HTTPResponseStatus = .ok) -> HTTPResponseBody {
        HTTPResponseBody(status: status, contentType: jsonContentType, body: bytes)
    }

    /// A short plain-text body; a trailing newline is added.
    public static func text(_ text: String, status: HTTPResponseStatus = .ok) -> HTTPResponseBody {
        HTTPResponseBody(status: status, contentType: plainTextContentType, body: Array((text + "\n").utf8))
    }
}

/// What the agent serves over HTTP. Implemented by the agent's wiring; the HTTP server only calls it.
///
/// Implementations must not change node state: the endpoint is read-only by contract.
public protocol HTTPEndpointHandler: Sendable {
    /// `GET /metrics`: Prometheus text exposition.
    func metrics() async -> HTTPResponseBody
    /// `GET /findings`: the current findings as JSON.
    func findings() async -> HTTPResponseBody
    /// `GET /healthz`: liveness.
    func health() async -> HTTPResponseBody
    /// `GET /readyz`: readiness.
    func readiness() async -> HTTPResponseBody
    /// `GET /state`: the agent's model of the node (links, addresses, routes, rules, endpoints).
    func state() async -> HTTPResponseBody
}
