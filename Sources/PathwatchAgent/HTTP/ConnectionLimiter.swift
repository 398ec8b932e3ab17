import Logging
import NIOCore

/// In the listening socket's pipeline: admits an accepted connection only while fewer than
/// `maxConnections` are open, and closes the others at once, before any byte is read from them.
final class ConnectionLimiter: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    private let limit: Int
    private let statistics: HTTPServerStatistics
    private let logger: Logger
    /// Whether connections are being refused; a warning is logged once per such episode.
    private var refusing = false

    init(limit: Int, statistics: HTTPServerStatistics, logger: Logger) {
        self.limit = limit
        self.statistics = statistics
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = Self.unwrapInboundIn(data)
        let decision = self.statistics.admitConnection(limit: self.limit)
        guard decision.admitted else {
            let metadata: Logger.Metadata = [
                "peer": "\(child.remoteAddress.map { "\($0)" } ?? "unknown")",
                "limit": "\(self.limit)",
            ]
            if self.refusing {
                self.logger.debug("Refusing HTTP connection: connection limit reached", metadata: metadata)
            } else {
                self.refusing = true
                self.logger.warning("Refusing HTTP connections: connection limit reached", metadata: metadata)
            }
            child.close(promise: nil)
            return
        }
        self.refusing = false
        let statistics = self.statistics
        child.closeFuture.whenComplete { _ in statistics.connectionClosed() }
        context.fireChannelRead(data)
    }
}
