import Logging
import NIOCore

/// Closes a connection when the `IdleStateHandler` in front of it reports that nothing was read or
/// written for the idle timeout, unless a request is being served.
final class IdleConnectionCloser: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let state: HTTPConnectionState
    private let statistics: HTTPServerStatistics
    private let logger: Logger

    init(state: HTTPConnectionState, statistics: HTTPServerStatistics, logger: Logger) {
        self.state = state
        self.statistics = statistics
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is IdleStateHandler.IdleStateEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard self.state.isIdle else { return }
        self.statistics.recordIdleTimeout()
        self.logger.debug(
            "Closing idle HTTP connection",
            metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "unknown")"]
        )
        context.close(promise: nil)
    }
}
