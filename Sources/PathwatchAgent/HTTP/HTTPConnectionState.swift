import NIOCore
import Synchronization

/// Whether a connection is between requests or serving one, shared by its request loop, its idle
/// timer and graceful shutdown, which may only close it between requests.
final class HTTPConnectionState: Sendable {
    private struct State {
        var busy = false
        var closing = false
        var shuttingDown = false
    }

    private let state = Mutex(State())
    private let channel: any Channel
    /// Admitted from the loopback reserve: only `/healthz` and `/readyz` are served.
    let servesHealthOnly: Bool

    init(channel: any Channel, servesHealthOnly: Bool = false) {
        self.channel = channel
        self.servesHealthOnly = servesHealthOnly
    }

    /// Marks the start of a request. Returns false if the connection is being shut down, in which
    /// case the request must not be served.
    func beginRequest() -> Bool {
        self.state.withLock { state in
            guard !state.closing else { return false }
            state.busy = true
            return true
        }
    }

    /// Whether the response being written must be the last one on this connection.
    var isClosing: Bool {
        self.state.withLock { $0.closing }
    }

    /// Marks the end of a request. Returns false if the connection must be closed now.
    func endRequest() -> Bool {
        self.state.withLock { state in
            state.busy = false
            return !state.closing
        }
    }

    /// Marks the connection as closing after the current response (no more requests are served).
    func markClosing() {
        self.state.withLock { state in
            state.closing = true
            state.busy = false
        }
    }

    /// Graceful shutdown: closes the connection now if it is between requests, otherwise after the
    /// response being served.
    func shutDown() {
        let idle = self.state.withLock { state in
            state.closing = true
            state.shuttingDown = true
            return !state.busy
        }
        if idle {
            self.channel.close(promise: nil)
        }
    }

    /// Whether graceful shutdown has begun (the server then closes without lingering).
    var isShuttingDown: Bool {
        self.state.withLock { $0.shuttingDown }
    }

    /// Idle timeout: whether the connection is between requests and may be closed.
    var isIdle: Bool {
        self.state.withLock { !$0.busy }
    }
}
