import NIOCore

/// The request head was longer than `HTTPLimits.maxRequestHeadBytes`.
struct RequestHeadTooLargeError: Error, Hashable {}

/// The request head did not arrive whole within `HTTPLimits.requestHeadTimeout`.
struct RequestHeadTimeoutError: Error, Hashable {}

/// Counts the bytes of each request head before the HTTP decoder sees them and refuses a head
/// that grows past the limit, so that neither a long request line nor many header fields can make
/// the decoder buffer more than that.
///
/// It finds the end of a head (an empty line: `LF [CR] LF`) itself, hands the decoder exactly the
/// bytes up to there, and then asks ``RequestFraming`` what the decoder made of them:
/// - a head without a body: the next head starts after it, counted from zero;
/// - a head that announces a body: all further bytes pass through uncounted (the connection is
///   closed after that request, so there is no later head to count);
/// - no head yet (say, empty lines before a request line): counting goes on.
///
/// When the limit is exceeded it stops forwarding and fires ``RequestHeadTooLargeError``, which
/// the ``RequestEventTranslator`` turns into a 431 response after any earlier responses.
///
/// It also holds each head to a deadline (issue 17 item 7: a client trickling a byte every 1.5 s
/// reset the idle timer for ever): from the connection's start for the first head, from its first
/// byte for later ones. When it passes, ``RequestHeadTimeoutError`` (408) the same way.
final class RequestHeadLimiter: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Mode {
        /// Inside a head: `count` bytes seen, `lineEnd` tracks a possible empty line.
        case head(count: Int, lineEnd: LineEndScanner)
        /// A body follows; pass everything on.
        case passThrough
        /// Limit exceeded or request rejected; drop everything.
        case stopped
    }

    private let limit: Int
    private let timeout: TimeAmount
    private let framing: RequestFraming
    private var mode: Mode = .head(count: 0, lineEnd: LineEndScanner())
    private var deadline: Scheduled<Void>?

    init(maxRequestHeadBytes: Int, timeout: TimeAmount, framing: RequestFraming) {
        self.limit = maxRequestHeadBytes
        self.timeout = timeout
        self.framing = framing
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.startDeadline(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.startDeadline(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.stopDeadline()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.stopDeadline()
    }

    private func startDeadline(context: ChannelHandlerContext) {
        guard self.deadline == nil else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        self.deadline = context.eventLoop.scheduleTask(in: self.timeout) {
            let (limiter, context) = loopBound.value
            limiter.deadline = nil
            guard case .head = limiter.mode else { return }
            limiter.mode = .stopped
            context.fireErrorCaught(RequestHeadTimeoutError())
        }
    }

    private func stopDeadline() {
        self.deadline?.cancel()
        self.deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = Self.unwrapInboundIn(data)
        if case .head = self.mode, buffer.readableBytes > 0 { self.startDeadline(context: context) }
        while buffer.readableBytes > 0 {
            switch self.mode {
            case .stopped:
                return
            case .passThrough:
                context.fireChannelRead(Self.wrapInboundOut(buffer))
                return
            case .head(var count, var lineEnd):
                let scan = buffer.withUnsafeReadableBytes { bytes -> (consumed: Int, headEnded: Bool) in
                    for (offset, byte) in bytes.enumerated() {
                        count += 1
                        if count > self.limit { return (offset, false) }
                        if lineEnd.consume(byte) { return (offset + 1, true) }
                    }
                    return (bytes.count, false)
                }
                guard count <= self.limit else {
                    self.mode = .stopped
                    self.stopDeadline()
                    context.fireErrorCaught(RequestHeadTooLargeError())
                    return
                }
                let slice = buffer.readSlice(length: scan.consumed)!
                guard scan.headEnded else {
                    // The head continues in a later read.
                    self.mode = .head(count: count, lineEnd: lineEnd)
                    context.fireChannelRead(Self.wrapInboundOut(slice))
                    return
                }
                let headsBefore = self.framing.headsDecoded
                self.mode = .head(count: count, lineEnd: LineEndScanner())
                context.fireChannelRead(Self.wrapInboundOut(slice))
                // Without a decoded head (empty lines before a request line) the deadline runs on.
                if self.framing.rejected {
                    self.mode = .stopped
                    self.stopDeadline()
                } else if self.framing.headsDecoded > headsBefore {
                    self.stopDeadline()
                    self.mode =
                        self.framing.lastHeadAnnouncedBody
                        ? .passThrough : .head(count: 0, lineEnd: LineEndScanner())
                }
                if case .head = self.mode, buffer.readableBytes > 0 { self.startDeadline(context: context) }
            }
        }
    }
}

/// Recognises the empty line that ends an HTTP head: `LF CR LF` or a bare `LF LF`.
struct LineEndScanner {
    private enum State { case inLine, afterLF, afterLFCR }
    private var state = State.inLine

    init() {}

    /// Feeds one byte; returns true when it completes an empty line.
    mutating func consume(_ byte: UInt8) -> Bool {
        switch (byte, self.state) {
        case (UInt8(ascii: "\n"), .afterLF), (UInt8(ascii: "\n"), .afterLFCR):
            self.state = .inLine
            return true
        case (UInt8(ascii: "\n"), .inLine):
            self.state = .afterLF
        case (UInt8(ascii: "\r"), .afterLF):
            self.state = .afterLFCR
        default:
            self.state = .inLine
        }
        return false
    }
}
