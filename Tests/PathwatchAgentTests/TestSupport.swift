import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import PathwatchAgent
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

/// Fixed answers, so the tests can recognise which handler method served a request.
struct FakeEndpointHandler: HTTPEndpointHandler {
    static let metricsText = "# TYPE pathwatch_up gauge\npathwatch_up 1\n"
    static let findingsJSON = #"{"findings":[]}"#

    /// When set, `/findings` waits for it to open (to hold a request in flight).
    var findingsGate: Gate? = nil

    func metrics() async -> HTTPResponseBody { .metrics(Self.metricsText) }

    func findings() async -> HTTPResponseBody {
        await self.findingsGate?.wait()
        return .json(Array(Self.findingsJSON.utf8))
    }

    func health() async -> HTTPResponseBody { .text("ok") }

    func readiness() async -> HTTPResponseBody { .text("not ready", status: .serviceUnavailable) }
    func state() async -> HTTPResponseBody { .json(Array(#"{"links":[]}"#.utf8)) }
}

/// A one-shot latch: `wait()` suspends until `open()`; `entered()` reports the first waiter.
final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var enteredWaiters: [CheckedContinuation<Void, Never>] = []
        var someoneEntered = false
    }

    private let state = Mutex(State())

    func wait() async {
        await withCheckedContinuation { continuation in
            let (resumeNow, entered) = self.state.withLock { state in
                state.someoneEntered = true
                defer { state.enteredWaiters = [] }
                if state.isOpen { return (true, state.enteredWaiters) }
                state.waiters.append(continuation)
                return (false, state.enteredWaiters)
            }
            for waiter in entered { waiter.resume() }
            if resumeNow { continuation.resume() }
        }
    }

    /// Returns once some task is waiting at (or has passed) the gate.
    func entered() async {
        await withCheckedContinuation { continuation in
            let now = self.state.withLock { state in
                if state.someoneEntered { return true }
                state.enteredWaiters.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    func open() {
        let waiters = self.state.withLock { state in
            state.isOpen = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

let quietLogger: Logger = {
    var logger = Logger(label: "pathwatch.http.test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .debug
    return logger
}()

func makeServer(
    limits: HTTPLimits = HTTPLimits(),
    handler: any HTTPEndpointHandler = FakeEndpointHandler(),
    host: String = "127.0.0.1",
    port: Int = 0
) -> HTTPServer {
    HTTPServer(
        host: host,
        port: port,
        limits: limits,
        handler: handler,
        logger: quietLogger,
        eventLoopGroup: .singleton
    )
}

/// Runs `server` on loopback for the duration of `body`, then shuts it down gracefully and checks
/// that `run()` returns.
func withRunningServer(
    _ server: HTTPServer,
    _ body: (_ port: Int) async throws -> Void
) async throws {
    try await testGracefulShutdown { trigger in
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let port = try #require(try await server.boundAddress.port)
            do {
                try await body(port)
            } catch {
                trigger.triggerGracefulShutdown()
                try? await group.waitForAll()
                throw error
            }
            trigger.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes.
func eventually(timeout: Duration = .seconds(5), _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
