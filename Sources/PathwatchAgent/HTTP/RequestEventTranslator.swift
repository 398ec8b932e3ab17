import NIOCore
import NIOHTTP1

/// Sits right behind the HTTP decoder. Turns decoded parts into ``HTTPRequestEvent/part(_:)``
/// and protocol errors into one ``HTTPRequestEvent/rejected(_:)``, so that the connection's
/// request loop sees both in order and answers earlier (pipelined) requests before the error.
/// Records each head in ``RequestFraming`` for the ``RequestHeadLimiter``.
final class RequestEventTranslator: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPRequestEvent

    private let framing: RequestFraming

    init(framing: RequestFraming) {
        self.framing = framing
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.framing.rejected else { return }
        let part = Self.unwrapInboundIn(data)
        if case .head(let head) = part {
            self.framing.headsDecoded += 1
            self.framing.lastHeadAnnouncedBody = head.announcesBody
        }
        context.fireChannelRead(Self.wrapInboundOut(.part(part)))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let rejection = Self.rejection(for: error) else {
            context.fireErrorCaught(error)
            return
        }
        // Only the first protocol error counts; the decoder reports every later read as an error too.
        guard !self.framing.rejected else { return }
        self.framing.rejected = true
        context.fireChannelRead(Self.wrapInboundOut(.rejected(rejection)))
        context.fireChannelReadComplete()
    }

    static func rejection(for error: any Error) -> RequestRejection? {
        switch error {
        case is RequestHeadTooLargeError:
            return .headTooLarge
        case is RequestHeadTimeoutError:
            return .headTimeout
        case let error as HTTPParserError:
            return error == .headerOverflow ? .headTooLarge : .malformed
        case is ByteToMessageDecoderError.PayloadTooLargeError:
            return .headTooLarge
        case is ByteToMessageDecoderError:
            return .malformed
        default:
            return nil
        }
    }
}
