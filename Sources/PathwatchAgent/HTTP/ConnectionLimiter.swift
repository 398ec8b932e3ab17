import Logging
import NIOCore

/// In the listening socket's pipeline: admits an accepted connection only while fewer than
/// `maxConnections` are open, and closes the others at once, before any byte is read from them.
final class ConnectionLimiter: ChannelInboundHandler {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    private let limit: Int
    private let reserve: Int
    private let statistics: HTTPServerStatistics
    private let logger: Logger
    /// Whether connections are being refused; a warning is logged once per such episode.
    private var refusing = false

    init(limit: Int, reserve: Int, statistics: HTTPServerStatistics, logger: Logger) {
        self.limit = limit
        self.reserve = reserve
        self.statistics = statistics
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let child = Self.unwrapInboundIn(data)
        let loopback = child.remoteAddress.map(Self.isLoopback) ?? false
        let decision = self.statistics.admitConnection(limit: self.limit, reserve: self.reserve, loopback: loopback)
        guard decision.admission != .refused else {
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
        let statistics = self.statistics
        let admission = decision.admission
        let id = ObjectIdentifier(child)
        if admission == .reserve {
            // Taken by AcceptedConnection when it sets up the child's pipeline (on the child's loop).
            statistics.reserveAdmissions.withLock { _ = $0.insert(id) }
        } else {
            self.refusing = false
        }
        child.closeFuture.whenComplete { _ in
            statistics.connectionClosed(admission)
            if admission == .reserve { statistics.reserveAdmissions.withLock { _ = $0.remove(id) } }
        }
        context.fireChannelRead(data)
    }

    /// 127.0.0.0/8, ::1, and ::ffff:127.0.0.0/104.
    static func isLoopback(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            return UInt32(bigEndian: v4.address.sin_addr.s_addr) >> 24 == 127
        case .v6(let v6):
            let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            let loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]
            let mapped: [UInt8] = Array(repeating: 0, count: 10) + [0xff, 0xff, 127]
            return bytes == loopback || bytes.starts(with: mapped)
        case .unixDomainSocket:
            return false
        }
    }
}
