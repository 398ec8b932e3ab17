import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PathwatchCore
import ServiceLifecycle
import Synchronization

/// The agent's read-only HTTP endpoint: `GET`/`HEAD` on `/metrics`, `/findings`, `/healthz` and
/// `/readyz`, answered by an ``HTTPEndpointHandler``; with a ``WebSecurity``, over TLS and behind
/// basic auth, as its web configuration says when each connection is accepted.
///
/// `run()` binds, serves until graceful shutdown (or cancellation), then closes the listening
/// socket; idle connections are closed at once and busy ones after their current response.
public final class HTTPServer: Service {
    /// Counters for the agent to export.
    public let statistics: HTTPServerStatistics

    private let host: String
    private let port: Int
    private let limits: HTTPLimits
    private let handler: any HTTPEndpointHandler
    private let security: WebSecurity?
    private let logger: Logger
    private let eventLoopGroup: MultiThreadedEventLoopGroup
    private let bound = BoundAddress()
    private let started = Mutex(false)

    public init(
        host: String,
        port: Int,
        limits: HTTPLimits = HTTPLimits(),
        handler: any HTTPEndpointHandler,
        security: WebSecurity? = nil,
        logger: Logger,
        eventLoopGroup: MultiThreadedEventLoopGroup
    ) {
        self.host = host
        self.port = port
        self.limits = limits.clamped
        self.handler = handler
        self.security = security
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.statistics = HTTPServerStatistics()
    }

    /// The address the server listens on (with the actual port when `port` was 0). Waits until
    /// `run()` has bound the socket; throws the bind error if binding failed.
    public var boundAddress: SocketAddress {
        get async throws { try await self.bound.value() }
    }

    public func run() async throws {
        guard
            self.started.withLock({ started in
                defer { started = true }
                return !started
            })
        else {
            throw HTTPServerError(kind: .alreadyStarted, host: self.host, port: self.port, reason: "it is already running")
        }
        let serverChannel: NIOAsyncChannel<AcceptedConnection, Never>
        do {
            serverChannel = try await self.bind()
        } catch {
            self.bound.resolve(.failure(error))
            throw error
        }
        guard let localAddress = serverChannel.channel.localAddress else {
            let error = HTTPServerError(
                kind: .bindFailed, host: self.host, port: self.port, reason: "the socket has no local address")
            self.bound.resolve(.failure(error))
            serverChannel.channel.close(promise: nil)
            throw error
        }
        self.bound.resolve(.success(localAddress))
        self.logger.info("HTTP endpoint listening", metadata: ["address": "\(localAddress)"])

        try await withGracefulShutdownHandler {
            try await serverChannel.executeThenClose { connections in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in connections {
                        group.addTask {
                            await self.serve(connection)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            self.logger.debug("HTTP endpoint shutting down", metadata: ["address": "\(localAddress)"])
            serverChannel.channel.close(promise: nil)
        }
        self.logger.info("HTTP endpoint stopped", metadata: ["address": "\(localAddress)"])
    }

    private func serve(_ connection: AcceptedConnection) async {
        let httpConnection = HTTPConnection(
            connection, handler: self.handler, limits: self.limits, statistics: self.statistics, logger: self.logger)
        await withGracefulShutdownHandler {
            await httpConnection.run()
        } onGracefulShutdown: {
            connection.state.shutDown()
        }
    }

    private func resolveAddress() throws -> SocketAddress {
        guard (0...65535).contains(self.port) else {
            throw HTTPServerError(
                kind: .invalidAddress, host: self.host, port: self.port, reason: "the port is not between 0 and 65535")
        }
        var host = self.host
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        if host == "localhost" {
            host = "127.0.0.1"
        }
        do {
            return try SocketAddress(ipAddress: host, port: self.port)
        } catch {
            throw HTTPServerError(
                kind: .invalidAddress, host: self.host, port: self.port,
                reason: "'\(self.host)' is not an IP address (use for example 0.0.0.0, :: or 127.0.0.1)")
        }
    }

    private func bind() async throws -> NIOAsyncChannel<AcceptedConnection, Never> {
        let address = try self.resolveAddress()
        let limits = self.limits
        let statistics = self.statistics
        let logger = self.logger
        let security = self.security
        let bootstrap = ServerBootstrap(group: self.eventLoopGroup)
            .serverChannelOption(.backlog, value: Int32(clamping: limits.listenBacklog))
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionLimiter(
                            limit: limits.maxConnections, reserve: limits.loopbackReserve, statistics: statistics,
                            logger: logger)
                    )
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        do {
            return try await bootstrap.bind(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try AcceptedConnection(
                        channel: channel, limits: limits, statistics: statistics, logger: logger, security: security?.state)
                }.flatMapErrorThrowing { error in
                    // NIO leaves a connection whose set-up failed open; close it here.
                    logger.warning("Cannot set up HTTP connection", metadata: ["error": "\(error)"])
                    channel.close(promise: nil)
                    throw error
                }
            }
        } catch {
            throw HTTPServerError.bindFailed(host: self.host, port: self.port, error: error)
        }
    }
}

/// An accepted connection with its pipeline set up, as handed from the listener to the server.
struct AcceptedConnection: Sendable {
    let channel: NIOAsyncChannel<HTTPRequestEvent, Never>
    let state: HTTPConnectionState
    let auth: BasicAuthGate?

    /// Sets up the pipeline of a new connection. Must run on the channel's event loop.
    ///
    /// Inbound, in order: (with TLS: TLS handler → handshake guard →) idle timer → idle closer → head limiter → HTTP decoder → event
    /// translator → async channel. Outbound: HTTP encoder → idle timer.
    init(
        channel: any Channel, limits: HTTPLimits, statistics: HTTPServerStatistics, logger: Logger,
        security: WebSecurityState? = nil
    ) throws {
        let pipeline = channel.pipeline.syncOperations
        let reserve = statistics.reserveAdmissions.withLock { $0.contains(ObjectIdentifier(channel)) }
        let state = HTTPConnectionState(channel: channel, servesHealthOnly: reserve)
        let framing = RequestFraming()
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        // A backstop only: the RequestHeadLimiter enforces the exact head size first.
        decoderLimits.maxHeaderFieldSize = limits.maxRequestHeadBytes
        decoderLimits.maxHeaderListSize = limits.maxRequestHeadBytes

        if let tls = security?.tls {
            try pipeline.addHandler(Self.tlsHandler(tls, clientAuth: security?.clientAuth ?? .noClientCert))
            try pipeline.addHandler(
                TLSHandshakeGuard(timeout: TimeAmount(limits.requestHeadTimeout), statistics: statistics, logger: logger))
        }
        try pipeline.addHandler(IdleStateHandler(allTimeout: TimeAmount(limits.idleTimeout)))
        try pipeline.addHandler(IdleConnectionCloser(state: state, statistics: statistics, logger: logger))
        try pipeline.addHandler(
            RequestHeadLimiter(
                maxRequestHeadBytes: limits.maxRequestHeadBytes, timeout: TimeAmount(limits.requestHeadTimeout), framing: framing))
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: false,
            withErrorHandling: false,
            withEncoderConfiguration: HTTPResponseEncoder.Configuration(),
            withDecoderLimitConfiguration: decoderLimits
        )
        try pipeline.addHandler(RequestEventTranslator(framing: framing))
        self.channel = try NIOAsyncChannel(wrappingChannelSynchronously: channel)
        self.state = state
        self.auth = security?.auth
    }

    /// RequestClientCert and RequireAnyClientCert ask for a certificate without checking it.
    private static func tlsHandler(_ context: NIOSSLContext, clientAuth: WebConfig.ClientAuth) -> NIOSSLServerHandler {
        switch clientAuth {
        case .requestClientCert, .requireAnyClientCert:
            NIOSSLServerHandler(context: context, customVerificationCallback: { _, promise in promise.succeed(.certificateVerified) })
        case .noClientCert, .verifyClientCertIfGiven, .requireAndVerifyClientCert:
            NIOSSLServerHandler(context: context)
        }
    }
}
