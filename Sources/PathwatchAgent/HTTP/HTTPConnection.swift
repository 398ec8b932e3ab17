import Logging
import NIOCore
import NIOHTTP1

/// Serves the requests of one connection, one after another, until the client or the server ends it.
///
/// Responses are written with `Channel.writeAndFlush` and awaited, so a response is on the wire
/// before the connection is closed and before the next request is read.
struct HTTPConnection {
    let channel: NIOAsyncChannel<HTTPRequestEvent, Never>
    let state: HTTPConnectionState
    let handler: any HTTPEndpointHandler
    /// The web configuration's users when the connection was accepted; nil: no authentication.
    let auth: BasicAuthGate?
    let limits: HTTPLimits
    let statistics: HTTPServerStatistics
    let logger: Logger

    init(
        _ connection: AcceptedConnection, handler: any HTTPEndpointHandler, limits: HTTPLimits,
        statistics: HTTPServerStatistics, logger: Logger
    ) {
        self.channel = connection.channel
        self.state = connection.state
        self.auth = connection.auth
        self.handler = handler
        self.limits = limits
        self.statistics = statistics
        self.logger = logger
    }

    /// Bytes of a body handed to the channel at once.
    static let writeSliceBytes = 64 * 1024

    /// How long a connection the server ends stays half-open (output closed) while the
    /// client's unread bytes are discarded, so that the client reads the last response instead
    /// of a connection reset.
    var lingerTime: TimeAmount {
        min(.seconds(2), TimeAmount(self.limits.idleTimeout))
    }

    func run() async {
        do {
            try await self.channel.executeThenClose { inbound, _ in
                var events = inbound.makeAsyncIterator()
                if try await self.serveRequests(&events) {
                    try await self.linger(&events)
                }
            }
        } catch {
            self.logger.debug("HTTP connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    /// - Returns: whether the server ends the connection after a final response (and should linger).
    private func serveRequests(
        _ events: inout NIOAsyncChannelInboundStream<HTTPRequestEvent>.AsyncIterator
    ) async throws -> Bool {
        while let event = try await events.next() {
            let head: HTTPRequestHead
            switch event {
            case .rejected(let rejection):
                try await self.reject(rejection, request: nil)
                return true
            case .part(.head(let requestHead)):
                head = requestHead
            case .part(.body), .part(.end):
                continue  // Cannot happen: bodies are consumed below.
            }

            guard self.state.beginRequest() else { return false }
            let started = ContinuousClock.now
            var closeAfterResponse = !head.isKeepAlive || head.asksForUpgrade

            if head.announcesBody {
                guard let length = head.announcedContentLength, length <= self.limits.maxRequestBodyBytes else {
                    try await self.reject(.bodyTooLarge, request: head)
                    return true
                }
                closeAfterResponse = true
            }
            // Read up to the end of the request; a body within the limit is discarded.
            readToEnd: while let event = try await events.next() {
                switch event {
                case .part(.end): break readToEnd
                case .part(.body), .part(.head): continue
                case .rejected(let rejection):
                    try await self.reject(rejection, request: head)
                    return true
                }
            }

            let route = HTTPRouter.decide(method: head.method, uri: head.uri)
            if self.state.servesHealthOnly, route != .serve(.health), route != .serve(.readiness) {
                // Beyond the limit: for anything but the health paths, as if refused at accept.
                self.statistics.recordReserveRefusal()
                return false
            }
            let refusal = await self.authorize(head)
            // /state is large (35 MB with 200k routes): a few at a time, each held until written.
            let statePermit =
                refusal == nil && route == .serve(.state)
                && self.statistics.beginStateRequest(limit: self.limits.maxConcurrentStateRequests)
            defer { if statePermit { self.statistics.endStateRequest() } }
            let response: HTTPResponseBody =
                if let refusal {
                    refusal
                } else if route == .serve(.state) && !statePermit {
                    .text("busy: /state is being served to other clients; retry later", status: .serviceUnavailable)
                } else {
                    await self.response(to: head)
                }
            closeAfterResponse = closeAfterResponse || self.state.isClosing || self.state.servesHealthOnly
            try await self.write(response, request: head, keepAlive: !closeAfterResponse)
            self.logger.debug(
                "HTTP request",
                metadata: [
                    "method": "\(head.method.rawValue)",
                    "path": "\(HTTPRouter.path(of: head.uri))",
                    "status": "\(response.status.code)",
                    "bytes": "\(response.body.count)",
                    "duration": "\(ContinuousClock.now - started)",
                ]
            )
            guard self.state.endRequest(), !closeAfterResponse else { return true }
        }
        return false
    }

    /// With `basic_auth_users`, every path needs them (as with exporter-toolkit): nil when the
    /// request may proceed, else its 401 (or 429 while bcrypt's budget is spent).
    private func authorize(_ head: HTTPRequestHead) async -> HTTPResponseBody? {
        guard let auth = self.auth else { return nil }
        let decision = await auth.check(authorization: head.headers["authorization"])
        guard decision != .allowed else { return nil }
        self.statistics.recordAuthRefusal(busy: decision == .busy)
        var response: HTTPResponseBody
        if decision == .busy {
            response = .text("too many password checks at once; retry later", status: .tooManyRequests)
            response.extraHeaders = [("Retry-After", "1")]
        } else {
            response = .text("unauthorized", status: .unauthorized)
            response.extraHeaders = [("WWW-Authenticate", #"Basic realm="pathwatch""#)]
        }
        return response
    }

    private func response(to head: HTTPRequestHead) async -> HTTPResponseBody {
        let decision = HTTPRouter.decide(method: head.method, uri: head.uri)
        if decision == .serve(.state), !self.limits.stateFromAnyPeer,
            !(self.channel.channel.remoteAddress.map(ConnectionLimiter.isLoopback) ?? false)
        {
            return .text("/state is served to loopback clients only (http.stateFrom)", status: .forbidden)
        }
        return switch decision {
        case .serve(.metrics): await self.handler.metrics()
        case .serve(.findings): await self.handler.findings()
        case .serve(.health): await self.handler.health()
        case .serve(.readiness): await self.handler.readiness()
        case .serve(.state): await self.handler.state()
        case .notFound: .text("not found", status: .notFound)
        case .methodNotAllowed: .text("method not allowed", status: .methodNotAllowed)
        }
    }

    /// Answers a refused request and marks the connection as ending.
    private func reject(_ rejection: RequestRejection, request: HTTPRequestHead?) async throws {
        self.state.markClosing()
        self.statistics.recordRejection(rejection)
        let metadata: Logger.Metadata = [
            "peer": "\(self.channel.channel.remoteAddress.map { "\($0)" } ?? "unknown")",
            "status": "\(rejection.status.code)",
        ]
        switch rejection {
        case .headTooLarge:
            self.logger.warning(
                "Refusing HTTP request: head larger than \(self.limits.maxRequestHeadBytes) bytes",
                metadata: metadata
            )
        case .bodyTooLarge:
            self.logger.warning(
                "Refusing HTTP request: body larger than \(self.limits.maxRequestBodyBytes) bytes",
                metadata: metadata
            )
        case .malformed:
            self.logger.debug("Refusing malformed HTTP request", metadata: metadata)
        case .headTimeout:
            self.logger.debug("Closing HTTP connection: request head not complete in time", metadata: metadata)
        }
        let text: String
        switch rejection {
        case .headTooLarge: text = "request head too large"
        case .bodyTooLarge: text = "request body not accepted"
        case .malformed: text = "bad request"
        case .headTimeout: text = "request head not received in time"
        }
        try await self.write(.text(text, status: rejection.status), request: request, keepAlive: false)
    }

    private func write(_ response: HTTPResponseBody, request: HTTPRequestHead?, keepAlive: Bool) async throws {
        var response = response
        let version = request?.version ?? .http1_1
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        if response.compressible {
            headers.add(name: "Vary", value: "Accept-Encoding")
            if let request, ContentEncoding.acceptsGzip(request.headers), let gzipped = ContentEncoding.gzip(response.body) {
                headers.add(name: "Content-Encoding", value: "gzip")
                response.body = gzipped
            }
        }
        headers.add(name: "Content-Length", value: String(response.body.count))
        for header in response.extraHeaders { headers.add(name: header.name, value: header.value) }
        if response.status == .methodNotAllowed {
            headers.add(name: "Allow", value: HTTPRouter.allowedMethods)
        }
        if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if version.major == 1 && version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let responseVersion: HTTPVersion = version.minor == 0 ? .http1_0 : .http1_1
        let head = HTTPResponseHead(version: responseVersion, status: response.status, headers: headers)
        // NIO's encoder frames responses to HEAD and CONNECT without a body (and for CONNECT also
        // without Content-Length), and fails body writes for them.
        let bodylessMethod = request?.method == .HEAD || request?.method == .CONNECT
        let sendsBody = !bodylessMethod && response.status.mayHaveResponseBody && !response.body.isEmpty

        let channel = self.channel.channel
        self.statistics.recordResponse(statusCode: Int(response.status.code))
        // A client that does not read would otherwise hold this connection (and the response's
        // bytes) for good: the idle timer spares a connection that is writing.
        let statistics = self.statistics
        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(self.limits.writeTimeout)) {
            statistics.recordWriteTimeout()
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        if sendsBody {
            // In slices, each awaited: at most one slice is queued in the process per connection.
            var offset = 0
            while offset < response.body.count {
                let end = min(offset + Self.writeSliceBytes, response.body.count)
                let slice = ByteBuffer(bytes: response.body[offset..<end])
                try await channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(slice))).get()
                offset = end
            }
        }
        try await channel.writeAndFlush(HTTPServerResponsePart.end(nil)).get()
    }

    /// After the last response: closes the output, discards whatever the client still sends until
    /// it closes its side or `lingerTime` passes, then the connection is closed.
    private func linger(
        _ events: inout NIOAsyncChannelInboundStream<HTTPRequestEvent>.AsyncIterator
    ) async throws {
        let channel = self.channel.channel
        self.state.markClosing()
        // On shutdown, close at once rather than keep the server waiting.
        guard !self.state.isShuttingDown else { return }
        try? await channel.close(mode: .output).get()
        let deadline = channel.eventLoop.scheduleTask(in: self.lingerTime) {
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        while try await events.next() != nil {}
    }
}

extension HTTPRequestHead {
    /// Whether the client asks to switch protocols (`CONNECT`, or `Connection: upgrade`). The
    /// decoder stops parsing after such a request, so the connection cannot serve another one.
    var asksForUpgrade: Bool {
        self.method == .CONNECT || self.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
    }
}
