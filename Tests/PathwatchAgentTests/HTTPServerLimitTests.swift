import PathwatchAgent
import Testing

@Suite("HTTP endpoint: limits and malformed input", .serialized, .timeLimit(.minutes(1)))
struct HTTPServerLimitTests {
    @Test("A request with a body gets 413 and the connection is closed")
    func bodyRefused() async throws {
        let server = makeServer()
        try await withRunningServer(server) { port in
            let client = try await RawHTTPClient.connect(port: port)
            try await client.send("GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
            let response = try await client.readResponse()
            #expect(response.statusCode == 413)
            #expect(response.header("Connection") == "close")
            #expect(try await client.waitForClose(timeout: .seconds(5)))

            let chunked = try await RawHTTPClient.connect(port: port)
            try await chunked.send("POST /metrics HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
            #expect(try await chunked.readResponse().statusCode == 413)
            #expect(try await chunked.waitForClose(timeout: .seconds(5)))
            #expect(server.statistics.snapshot().requestBodyTooLarge == 2)
        }
    }

    @Test("A body within a raised body limit is discarded, the request served, the connection closed")
    func smallBodyAccepted() async throws {
        try await withRunningServer(makeServer(limits: HTTPLimits(maxRequestBodyBytes: 10))) { port in
            let client = try await RawHTTPClient.connect(port: port)
            try await client.send("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello")
            let response = try await client.readResponse()
            #expect(response.statusCode == 200)
            #expect(response.header("Connection") == "close")
            #expect(try await client.waitForClose(timeout: .seconds(5)))

            let large = try await RawHTTPClient.connect(port: port)
            try await large.send("GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world")
            #expect(try await large.readResponse().statusCode == 413)
        }
    }

    @Test("A header larger than the head limit gets 431 and the connection is closed")
    func hugeHeader() async throws {
        let server = makeServer()
        try await withRunningServer(server) { port in
            let client = try await RawHTTPClient.connect(port: port)
            let big = String(repeating: "a", count: 20 * 1024)
            try await client.send("GET /metrics HTTP/1.1\r\nHost: t\r\nX-Big: \(big)\r\n\r\n")
            let response = try await client.readResponse()
            #expect(response.statusCode == 431)
            #expect(response.header("Connection") == "close")
            #expect(try await client.waitForClose(timeout: .seconds(5)))

            let longURL = try await RawHTTPClient.connect(port: port)
            try await longURL.send("GET /metrics?\(big) HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try await longURL.readResponse().statusCode == 431)
            #expect(try await longURL.waitForClose(timeout: .seconds(5)))
            #expect(server.statistics.snapshot().requestHeadTooLarge == 2)
        }
    }

    @Test("The head limit is exact and applies to each request of a connection separately")
    func headLimitIsExact() async throws {
        let limit = 200
        try await withRunningServer(makeServer(limits: HTTPLimits(maxRequestHeadBytes: limit))) { port in
            func request(headBytes: Int) -> String {
                let prefix = "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: "
                let padding = String(repeating: "p", count: headBytes - prefix.utf8.count - 4)
                let request = prefix + padding + "\r\n\r\n"
                precondition(request.utf8.count == headBytes)
                return request
            }
            let client = try await RawHTTPClient.connect(port: port)
            // Three heads of exactly the limit, pipelined in one write, then one byte too many.
            try await client.send(request(headBytes: limit) + request(headBytes: limit) + request(headBytes: limit))
            for _ in 0..<3 {
                #expect(try await client.readResponse().statusCode == 200)
            }
            try await client.send(request(headBytes: limit + 1))
            #expect(try await client.readResponse().statusCode == 431)
            #expect(try await client.waitForClose(timeout: .seconds(5)))
        }
    }

    @Test(
        "Bytes that are not HTTP get 400 and the connection is closed",
        arguments: [
            Array("\u{0}\u{1}\u{2}garbage\r\n\r\n".utf8),
            Array("GET /metrics HTTP/9.9\r\n\r\n".utf8),
            Array("GET /metrics HTTP/1.1\r\nBad Header\r\n\r\n".utf8),
            Array("GET /metrics HTTP/1.1\r\nContent-Length: x\r\n\r\n".utf8),
            [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a],  // TLS hello
        ]
    )
    func malformed(bytes: [UInt8]) async throws {
        let server = makeServer()
        try await withRunningServer(server) { port in
            let client = try await RawHTTPClient.connect(port: port)
            try await client.send(bytes)
            let response = try await client.readResponse()
            #expect(response.statusCode == 400)
            #expect(response.header("Connection") == "close")
            #expect(try await client.waitForClose(timeout: .seconds(5)))
            #expect(server.statistics.snapshot().malformedRequests == 1)

            // The server is unharmed.
            let next = try await RawHTTPClient.connect(port: port)
            #expect(try await next.request("/healthz").statusCode == 200)
        }
    }

    @Test("A valid request followed by garbage is answered before the 400")
    func validThenGarbage() async throws {
        try await withRunningServer(makeServer()) { port in
            let client = try await RawHTTPClient.connect(port: port)
            try await client.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n\u{0}\u{0}\u{0}\r\n\r\n")
            #expect(try await client.readResponse().statusCode == 200)
            #expect(try await client.readResponse().statusCode == 400)
            #expect(try await client.waitForClose(timeout: .seconds(5)))
        }
    }

    @Test("A silent connection is closed after the idle timeout")
    func idleTimeout() async throws {
        let server = makeServer(limits: HTTPLimits(idleTimeout: .milliseconds(300)))
        try await withRunningServer(server) { port in
            let silent = try await RawHTTPClient.connect(port: port)
            // An upper bound with generous slack; not a timing benchmark.
            #expect(try await silent.waitForClose(timeout: .seconds(10)))

            let afterRequest = try await RawHTTPClient.connect(port: port)
            #expect(try await afterRequest.request("/healthz").statusCode == 200)
            #expect(try await afterRequest.waitForClose(timeout: .seconds(10)))
            #expect(server.statistics.snapshot().idleTimeouts == 2)
        }
    }

    @Test("Beyond maxConnections, new connections are closed at once and counted")
    func connectionLimit() async throws {
        let server = makeServer(limits: HTTPLimits(maxConnections: 2, loopbackReserve: 0))
        try await withRunningServer(server) { port in
            let first = try await RawHTTPClient.connect(port: port)
            let second = try await RawHTTPClient.connect(port: port)
            // A response proves each was admitted.
            #expect(try await first.request("/healthz").statusCode == 200)
            #expect(try await second.request("/healthz").statusCode == 200)

            let third = try await RawHTTPClient.connect(port: port)
            #expect(try await third.waitForClose(timeout: .seconds(5)))
            #expect(server.statistics.snapshot().rejectedConnections == 1)
            #expect(server.statistics.snapshot().openConnections == 2)

            // The admitted ones still work; once one goes, a new connection is admitted.
            #expect(try await first.request("/metrics").statusCode == 200)
            _ = try await second.request("/healthz", headers: ["Connection: close"])
            #expect(try await second.waitForClose(timeout: .seconds(5)))
            second.close()
            #expect(try await eventually { server.statistics.snapshot().openConnections == 1 })
            let fourth = try await RawHTTPClient.connect(port: port)
            #expect(try await fourth.request("/healthz").statusCode == 200)
            #expect(server.statistics.snapshot().rejectedConnections == 1)
        }
    }
}

@Suite("HTTP endpoint: random input", .serialized, .timeLimit(.minutes(1)))
struct HTTPServerRandomInputTests {
    /// SplitMix64, so that a failure can be reproduced.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            self.state &+= 0x9E37_79B9_7F4A_7C15
            var z = self.state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("Random bytes and mangled requests never take the server down")
    func randomInput() async throws {
        var random = SeededGenerator(state: 42)
        let valid = Array("GET /metrics?a=b HTTP/1.1\r\nHost: t\r\nAccept: */*\r\n\r\n".utf8)
        try await withRunningServer(makeServer(limits: HTTPLimits(maxRequestHeadBytes: 256))) { port in
            for round in 0..<120 {
                var bytes: [UInt8]
                if round % 2 == 0 {
                    bytes = (0..<Int.random(in: 1...400, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                } else {
                    bytes = valid
                    for _ in 0..<Int.random(in: 1...4, using: &random) {
                        bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                    }
                }
                let client = try await RawHTTPClient.connect(port: port)
                try? await client.send(bytes + Array("\r\n\r\n".utf8))
                client.close()
            }
            let client = try await RawHTTPClient.connect(port: port)
            #expect(try await client.request("/healthz").statusCode == 200)
        }
    }
}
