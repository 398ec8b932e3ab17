import Logging
import Netlink

/// The one policy for a netlink message that does not decode, on every socket the agent reads:
/// count it, log it once per kind (what was being decoded), skip it and read on. A kernel that
/// sends a shape we do not know would otherwise fill the log at the event rate; the count still
/// shows every one.
///
/// Owned by the watcher thread that reads the socket, like the socket.
struct DecodeFailureLog {
    let socketName: String
    let count: () -> Void
    let logger: Logger
    private var logged: Set<String> = []

    init(socketName: String, logger: Logger, count: @escaping () -> Void = {}) {
        self.socketName = socketName
        self.logger = logger
        self.count = count
    }

    mutating func skipped(_ error: DecodeError) {
        count()
        guard logged.count < 64, logged.insert(error.context).inserted else { return }
        logger.warning(
            "skipped a \(socketName) message that did not decode (further ones of this kind are only counted)",
            metadata: ["error": "\(error)"])
    }
}
