import NIOHTTP1

/// Why a request is refused before it reaches the router. Each ends the connection.
enum RequestRejection: Sendable, Hashable {
    /// The request head is larger than `HTTPLimits.maxRequestHeadBytes`: 431.
    case headTooLarge
    /// The request carries a body over `HTTPLimits.maxRequestBodyBytes`: 413.
    case bodyTooLarge
    /// The bytes are not a valid HTTP/1.x request: 400.
    case malformed
    /// The request head did not arrive whole within `HTTPLimits.requestHeadTimeout`: 408.
    case headTimeout

    var status: HTTPResponseStatus {
        switch self {
        case .headTooLarge: .requestHeaderFieldsTooLarge
        case .bodyTooLarge: .payloadTooLarge
        case .malformed: .badRequest
        case .headTimeout: .requestTimeout
        }
    }
}

/// What a connection's request loop reads: decoded request parts, in order, and at most one
/// protocol-level rejection after them (the connection is answered and closed).
enum HTTPRequestEvent: Sendable {
    case part(HTTPServerRequestPart)
    case rejected(RequestRejection)
}

extension HTTPRequestHead {
    /// Whether the request announces a body (RFC 9112 §6.3: a request has a body exactly when it
    /// carries `Transfer-Encoding` or a non-zero `Content-Length`). The decoder has already checked
    /// that these headers are well-formed.
    var announcesBody: Bool {
        if self.headers.contains(name: "transfer-encoding") { return true }
        return self.headers["content-length"].contains { $0.trimmingSpaces != "0" }
    }

    /// The announced `Content-Length`, when there is exactly one and no `Transfer-Encoding`.
    var announcedContentLength: Int? {
        guard !self.headers.contains(name: "transfer-encoding") else { return nil }
        let values = self.headers["content-length"]
        guard values.count == 1 else { return nil }
        return Int(values[0].trimmingSpaces)
    }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return s
    }
}
