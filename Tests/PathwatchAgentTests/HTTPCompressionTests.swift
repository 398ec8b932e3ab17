import CompressNIO
import NIOCore
import NIOHTTP1
import Testing

@testable import PathwatchAgent

/// Issue 12: `/metrics` gzipped when, and only when, the client asks.
@Suite("HTTP endpoint: gzip for /metrics", .serialized, .timeLimit(.minutes(1)))
struct HTTPCompressionTests {
    @Test(arguments: [
        ("gzip", true), ("GZIP", true), ("x-gzip", true), ("deflate, gzip;q=0.5", true), ("br;q=1.0, gzip ; q=0.001", true),
        ("gzip;q=0", false), ("gzip; q=0.0", false), ("*", false), ("identity", false), ("deflate", false),
        ("gzipper", false), ("", false),
    ])
    func acceptEncoding(_ value: String, _ accepts: Bool) {
        #expect(ContentEncoding.acceptsGzip(HTTPHeaders([("Accept-Encoding", value)])) == accepts)
    }

    @Test func noHeaderNoGzip() {
        #expect(!ContentEncoding.acceptsGzip(HTTPHeaders()))
    }

    @Test("gzip only when asked; Vary on every /metrics answer; never for the other paths")
    func served() async throws {
        try await withRunningServer(makeServer()) { port in
            let client = try await RawHTTPClient.connect(port: port)
            let plain = try await client.request("/metrics")
            #expect(plain.header("Content-Encoding") == nil)
            #expect(plain.header("Vary") == "Accept-Encoding")
            #expect(plain.bodyText == FakeEndpointHandler.metricsText)

            let gzipped = try await client.request("/metrics", headers: ["Accept-Encoding: gzip"])
            #expect(gzipped.header("Content-Encoding") == "gzip")
            #expect(gzipped.header("Vary") == "Accept-Encoding")
            var buffer = ByteBuffer(bytes: gzipped.body)
            var inflated = try buffer.decompress(with: .gzip())
            #expect(inflated.readString(length: inflated.readableBytes) == FakeEndpointHandler.metricsText)

            let head = try await client.request("/metrics", method: "HEAD", headers: ["Accept-Encoding: gzip"])
            #expect(head.header("Content-Encoding") == "gzip")
            #expect(head.header("Content-Length") == String(gzipped.body.count))

            let refused = try await client.request("/metrics", headers: ["Accept-Encoding: gzip;q=0"])
            #expect(refused.header("Content-Encoding") == nil)

            let findings = try await client.request("/findings", headers: ["Accept-Encoding: gzip"])
            #expect(findings.header("Content-Encoding") == nil)
            #expect(findings.header("Vary") == nil)
            #expect(findings.bodyText == FakeEndpointHandler.findingsJSON)
        }
    }
}
