import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
import Netlink
import PathwatchCore

/// Plain-HTTP requests to the link-local metadata service, on AsyncHTTPClient, with the bounds
/// of docs/security.md: a literal address (no DNS), one deadline covering connect, head and
/// body, heads over ``HTTPResponse/maxHeadBytes`` and bodies over
/// ``InstanceMetadata/maxBodyBytes`` refused, no redirects followed. Every failure is a
/// ``MetadataError``; a cancelled task (shutdown) ends the request at once.
final class MetadataHTTPClient: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let http: HTTPClient

    /// One event-loop thread of its own, made only when discovery is on (it is off by default).
    init() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        configuration.httpVersion = .http1Only
        configuration.proxy = nil
        // A refused connection is an answer ("unreachable", logged once), not something to retry
        // until the deadline turns it into a timeout: discovery has its own backoff.
        configuration.connectionPool.retryConnectionEstablishment = false
        http = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
    }

    func shutdown() async {
        try? await http.shutdown()
        try? await group.shutdownGracefully()
    }

    /// Sends one request and returns its status and whole body.
    func request(
        _ method: HTTPMethod, host: String, port: Int, _ path: String, headers: [(String, String)], timeout: Double
    ) async throws(MetadataError) -> HTTPResponse {
        guard let address = IPAddress(host) else { throw MetadataError(.unreachable, "not a literal address: \(host)") }
        let endpoint = address.family == .inet ? "\(host):\(port)" : "[\(host)]:\(port)"
        var built = HTTPClientRequest(url: "http://\(endpoint)\(path)")
        built.method = method
        for (name, value) in headers { built.headers.add(name: name, value: value) }
        built.headers.add(name: "User-Agent", value: "pathwatch")
        let (http, request) = (self.http, built)
        do {
            return try await withThrowingTaskGroup(of: HTTPResponse?.self) { group in
                group.addTask { try await Self.exchange(http, request) }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(Int64(timeout * 1000)))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let response = first else {
                    throw MetadataError(.timeout, "no answer from \(endpoint) within \(timeout) s")
                }
                return response
            }
        } catch {
            throw Self.classify(error, endpoint)
        }
    }

    private static func exchange(_ http: HTTPClient, _ request: HTTPClientRequest) async throws -> HTTPResponse {
        let response = try await http.execute(request, timeout: .hours(1))  // the caller's deadline is the real one
        // The status line and the header lines as sent, give or take the reason phrase.
        let head = 17 + response.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        guard head <= HTTPResponse.maxHeadBytes else {
            throw MetadataError(.garbage, "response head larger than \(HTTPResponse.maxHeadBytes) bytes")
        }
        let body = try await response.body.collect(upTo: InstanceMetadata.maxBodyBytes)
        return HTTPResponse(status: Int(response.status.code), body: Array(buffer: body))
    }

    private static func classify(_ error: any Error, _ endpoint: String) -> MetadataError {
        switch error {
        case let error as MetadataError: return error
        case is NIOTooManyBytesError: return MetadataError(.garbage, "answer body larger than \(InstanceMetadata.maxBodyBytes) bytes")
        case is HTTPParserError: return MetadataError(.garbage, "answer from \(endpoint) is not HTTP: \(error)")
        case let error as HTTPClientError where [.connectTimeout, .deadlineExceeded, .readTimeout].contains(error):
            return MetadataError(.timeout, "no answer from \(endpoint): \(error)")
        case is CancellationError: return MetadataError(.unreachable, "stopping")
        default: return MetadataError(.unreachable, "\(endpoint): \(error)")
        }
    }
}
