import PathwatchAgent
import Testing

/// Issue 17 item 7: clients that trickle bytes or never read held every connection slot, and the
/// liveness probe was refused. Each test here failed before the fix.
@Suite("HTTP endpoint: starvation", .serialized, .timeLimit(.minutes(1)))
struct HTTPStarvationTests {
    /// `/state` answers 16 MiB, more than loopback's socket buffers hold.
    struct LargeStateHandler: HTTPEndpointHandler {
        static let body = [UInt8](repeating: UInt8(ascii: "x"), count: 16 << 20)
        let fake = FakeEndpointHandler()
        func metrics() async -> HTTPResponseBody { await fake.metrics() }
        func findings() async -> HTTPResponseBody { await fake.findings() }
        func health() async -> HTTPResponseBody { await fake.health() }
        func readiness() async -> HTTPResponseBody { await fake.readiness() }
        func state() async -> HTTPResponseBody { .json(Self.body) }
    }

    @Test("A head trickled a byte at a time gets 408 at its deadline, though each byte resets the idle timer")
    func trickledHead() async throws {
        let limits = HTTPLimits(idleTimeout: .seconds(1), requestHeadTimeout: .milliseconds(800))
        let server = makeServer(limits: limits)
        try await withRunningServer(server) { port in
            let client = try await RawHTTPClient.connect(port: port)
            let started = ContinuousClock.now
            // A byte every 100 ms until just before the 800 ms head deadline, then silence: the
            // idle timer (1 s) was reset all along and would fire only at ~1.7 s. Sending on past
            // the deadline would race the server's close (a byte arriving after it makes the
            // kernel answer RST, which discards the 408 before the client reads it).
            for byte in "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ".utf8 + Array(repeating: UInt8(ascii: "s"), count: 60) {
                guard ContinuousClock.now - started < .milliseconds(650) else { break }
                guard (try? await client.send([byte])) != nil else { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let response = try await client.readResponse(timeout: .seconds(2))
            #expect(response.statusCode == 408)
            #expect(response.header("Connection") == "close")
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(server.statistics.snapshot().requestHeadTimeouts == 1)
        }
    }

    @Test("A client that never reads its responses is disconnected after the write timeout")
    func clientThatNeverReads() async throws {
        let limits = HTTPLimits(idleTimeout: .milliseconds(300), writeTimeout: .milliseconds(500))
        let server = makeServer(limits: limits, handler: LargeStateHandler())
        try await withRunningServer(server) { port in
            let client = try await RawHTTPClient.connect(port: port)
            try await client.send("GET /state HTTP/1.1\r\nHost: t\r\n\r\n")
            // Never read: the response fills both sockets' buffers and the write cannot finish.
            #expect(try await eventually { server.statistics.snapshot().responses(statusClass: 2) == 1 })
            #expect(try await eventually(timeout: .seconds(10)) { server.statistics.snapshot().openConnections == 0 })
            #expect(server.statistics.snapshot().writeTimeouts == 1)
            withExtendedLifetime(client) {}
        }
    }

    @Test("With every slot held, /healthz and /readyz from loopback are still answered; anything else is refused")
    func loopbackReserve() async throws {
        let limits = HTTPLimits(maxConnections: 2, requestHeadTimeout: .seconds(30), loopbackReserve: 1)
        let server = makeServer(limits: limits)
        try await withRunningServer(server) { port in
            // Two clients hold both slots with heads they never finish.
            var holders: [RawHTTPClient] = []
            for _ in 0..<2 {
                let holder = try await RawHTTPClient.connect(port: port)
                try await holder.send("GET /metrics HTTP/1.1\r\nHost: t\r\n")
                holders.append(holder)
            }
            #expect(try await eventually { server.statistics.snapshot().openConnections == 2 })

            let probe = try await RawHTTPClient.connect(port: port)
            let health = try await probe.request("/healthz")
            #expect(health.statusCode == 200)
            #expect(health.header("Connection") == "close")
            #expect(try await probe.waitForClose(timeout: .seconds(5)))

            #expect(try await eventually { server.statistics.snapshot().openConnections == 2 })
            // Anything else on a reserve connection: closed unanswered, counted as refused.
            let other = try await RawHTTPClient.connect(port: port)
            try await other.send("GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(try await other.waitForClose(timeout: .seconds(5)))
            #expect(server.statistics.snapshot().reserveConnections == 2)
            #expect(server.statistics.snapshot().rejectedConnections == 1)
            withExtendedLifetime(holders) {}
        }
    }

    @Test("/state is served to a bounded number of clients at once; the others get 503 until one is done")
    func stateRequestsAreBounded() async throws {
        let limits = HTTPLimits(writeTimeout: .seconds(20), maxConcurrentStateRequests: 1)
        let server = makeServer(limits: limits, handler: LargeStateHandler())
        try await withRunningServer(server) { port in
            let stuck = try await RawHTTPClient.connect(port: port)
            try await stuck.send("GET /state HTTP/1.1\r\nHost: t\r\n\r\n")  // and never read
            #expect(try await eventually { server.statistics.snapshot().stateRequestsInFlight == 1 })

            let second = try await RawHTTPClient.connect(port: port)
            #expect(try await second.request("/state").statusCode == 503)
            #expect(try await second.request("/metrics").statusCode == 200)
            #expect(server.statistics.snapshot().stateRequestsBusy == 1)

            stuck.close()
            #expect(try await eventually { server.statistics.snapshot().stateRequestsInFlight == 0 })
            let third = try await RawHTTPClient.connect(port: port)
            let state = try await third.request("/state")
            #expect(state.statusCode == 200)
            #expect(state.body.count == LargeStateHandler.body.count)
        }
    }
}
