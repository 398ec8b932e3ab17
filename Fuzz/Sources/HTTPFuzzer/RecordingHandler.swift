import PathwatchAgent
import Synchronization

/// The endpoint's handler with fixed answers, counting its calls. Every answer is 200, and no
/// body starts like a status line, so that `ResponseStream` can tell a body from the next response
/// (responses to HEAD carry a Content-Length but no body).
final class RecordingHandler: HTTPEndpointHandler {
    private let calls = Atomic(0)

    var callCount: Int { self.calls.load(ordering: .sequentiallyConsistent) }

    /// The bodies it answers with, as the server sends them.
    static let bodies: Set<String> = ["fuzz metrics\n", "fuzz findings\n", "fuzz health\n", "fuzz ready\n", "fuzz state\n"]

    private func answer(_ text: String) -> HTTPResponseBody {
        self.calls.add(1, ordering: .sequentiallyConsistent)
        return .text("fuzz " + text)
    }

    /// Compressible, as the agent's is: gzipped when the request asks.
    func metrics() async -> HTTPResponseBody {
        var body = self.answer("metrics")
        body.compressible = true
        return body
    }
    func findings() async -> HTTPResponseBody { self.answer("findings") }
    func health() async -> HTTPResponseBody { self.answer("health") }
    func readiness() async -> HTTPResponseBody { self.answer("ready") }
    func state() async -> HTTPResponseBody { self.answer("state") }
}
