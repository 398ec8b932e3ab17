import Logging
import NIOCore

/// One connection served by exactly the code ``HTTPServer`` runs for an accepted connection (the
/// same pipeline set-up and request loop), but on a channel the caller brings, without a listening
/// socket. It exists for the HTTP fuzzer (Fuzz/HTTPFuzzer), which drives it over an in-memory
/// channel: sharing the server's code, rather than a copy of its handler list, keeps the fuzzer
/// from drifting away from what the server does.
public struct HTTPConnectionHarness: Sendable {
    private let connection: AcceptedConnection
    private let handler: any HTTPEndpointHandler
    private let limits: HTTPLimits
    private let statistics: HTTPServerStatistics
    private let logger: Logger

    /// Installs the server's connection pipeline on `channel`; bytes written into the channel
    /// from now on are read by it.
    ///
    /// `basicAuth`, when given, puts the server's basic-auth gate in front of every request as a
    /// web configuration's `basic_auth_users` would, with `verify` standing in for bcrypt (the
    /// library's own code; the fuzzer exercises the header parsing, the cache and the budget).
    public init(
        channel: any Channel,
        limits: HTTPLimits = HTTPLimits(),
        handler: any HTTPEndpointHandler,
        statistics: HTTPServerStatistics,
        logger: Logger,
        basicAuth: (users: [String: String], verify: @Sendable (_ password: String, _ hash: String) -> Bool)? = nil
    ) async throws {
        let limits = limits.clamped
        let security = basicAuth.map { auth in
            WebSecurityState(
                tls: nil, clientAuth: .noClientCert,
                auth: BasicAuthGate(users: auth.users, verify: auth.verify, offload: { work in work() }), users: auth.users)
        }
        self.connection = try await channel.eventLoop.submit {
            try AcceptedConnection(channel: channel, limits: limits, statistics: statistics, logger: logger, security: security)
        }.get()
        self.handler = handler
        self.limits = limits
        self.statistics = statistics
        self.logger = logger
    }

    /// Serves requests until the connection ends (the client's end of input, an error, or the
    /// server's decision to close); the channel is closed when this returns.
    public func run() async {
        await HTTPConnection(
            self.connection, handler: self.handler, limits: self.limits, statistics: self.statistics, logger: self.logger
        ).run()
    }
}
