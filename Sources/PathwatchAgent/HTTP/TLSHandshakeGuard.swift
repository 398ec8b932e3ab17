import Logging
import NIOCore
import NIOTLS

/// Sits right behind the `NIOSSLServerHandler`: a handshake that fails (plain HTTP sent to the TLS
/// port, an unknown client certificate) or does not complete within the deadline closes the
/// connection and is counted as a `tls` rejection.
///
/// It holds back `channelActive` until the handshake is done, so the idle timer and the request-head
/// deadline behind it start with the first decrypted byte, and every limit of the plain pipeline
/// applies after TLS unchanged.
final class TLSHandshakeGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private let statistics: HTTPServerStatistics
    private let logger: Logger
    private var deadline: Scheduled<Void>?
    private var handshakeDone = false
    private var activeHeldBack = false
    private var failed = false

    init(timeout: TimeAmount, statistics: HTTPServerStatistics, logger: Logger) {
        self.timeout = timeout
        self.statistics = statistics
        self.logger = logger
    }

    func channelActive(context: ChannelHandlerContext) {
        guard !self.handshakeDone else { return context.fireChannelActive() }
        self.activeHeldBack = true
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.deadline = context.eventLoop.scheduleTask(in: self.timeout) {
            let (guardHandler, context) = loopBound.value
            guardHandler.fail(context: context, reason: "handshake not complete in time")
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            self.handshakeDone = true
            self.deadline?.cancel()
            self.deadline = nil
            if self.activeHeldBack {
                self.activeHeldBack = false
                context.fireChannelActive()
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard self.handshakeDone else {
            return self.fail(context: context, reason: "handshake failed: \(error)")
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.deadline?.cancel()
        self.deadline = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.deadline?.cancel()
    }

    private func fail(context: ChannelHandlerContext, reason: String) {
        guard !self.failed else { return }
        self.failed = true
        self.deadline?.cancel()
        self.deadline = nil
        self.statistics.recordTLSFailure()
        self.logger.debug(
            "Closing HTTPS connection: \(reason)", metadata: ["peer": "\(context.remoteAddress.map { "\($0)" } ?? "unknown")"])
        context.close(promise: nil)
    }
}
