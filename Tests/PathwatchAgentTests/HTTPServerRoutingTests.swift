import NIOHTTP1
import PathwatchAgent
import Testing

@Suite("HTTP endpoint: routes and responses", .serialized, .timeLimit(.minutes(1)))
struct HTTPServerRoutingTests {
    @Test("GET on the four paths returns each handler's status, content type and body")
    func fourPaths() async throws {
        try await withRunningServer(makeServer()) { port in
            let client = try await RawHTTPClient.connect(port: port)

            let metrics = try await client.request("/metrics")
            #expect(metrics.statusCode == 200)
            #expect(metrics.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(metrics.bodyText == FakeEndpointHandler.metricsText)
            #expect(metrics.header("Content-Length") == String(FakeEndpointHandler.metricsText.utf8.count))

            let findings = try await client.request("/findings")
            #expect(findings.statusCode == 200)
            #expect(findings.header("Content-Type") == "application/json")
            #expect(findings.bodyText == FakeEndpointHandler.findingsJSON)

            let health = try await client.request("/healthz")
            #expect(health.statusCode == 200)
            #expect(health.bodyText == "ok\n")

            let ready = try await client.request("/readyz")
            #expect(ready.statusCode == 503)
            #expect(ready.bodyText == "not ready\n")
        }
    }

    @Test("HEAD has the GET response's headers and no body")
    func head() async throws {
        try await withRunningServer(makeServer()) { port in
            let client = try await RawHTTPClient.connect(port: port)
            let head = try await client.request("/metrics", method: "HEAD")
            #expect(head.statusCode == 200)
            #expect(head.header("Content-Length") == String(FakeEndpointHandler.metricsText.utf8.count))
            #expect(head.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(head.body.isEmpty)
            // Had a body been sent, this response would start with it and not parse.
            let next = try await client.request("/healthz")
            #expect(next.statusCode == 200)
            #expect(next.bodyText == "ok\n")
        }
    }

    @Test("An unknown path is 404; query strings do not affect routing")
    func notFoundAndQuery() async throws {
        try await withRunningServer(makeServer()) { port in
            let client = try await RawHTTPClient.connect(port: port)
            let missing = try await client.request("/nope")
            #expect(missing.statusCode == 404)
            #expect(missing.header("Content-Length") == String(missing.body.count))

            let prefixed = try await client.request("/metrics/extra")
            #expect(prefixed.statusCode == 404)

            let query = try await client.request("/metrics?name[]=x&y=%20")
            #expect(query.statusCode == 200)
            #expect(query.bodyText == FakeEndpointHandler.metricsText)
        }
    }

    @Test("Methods other than GET and HEAD are 405 with Allow", arguments: ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
    func methodNotAllowed(method: String) async throws {
        try await withRunningServer(makeServer()) { port in
            let client = try await RawHTTPClient.connect(port: port)
            let response = try await client.request("/metrics", method: method)
            #expect(response.statusCode == 405)
            #expect(response.header("Allow") == "GET, HEAD")
            // The connection stays usable.
            let next = try await client.request("/healthz")
            #expect(next.statusCode == 200)
        }
    }

    @Test("Keep-alive: several requests on one connection, also pipelined in one write")
    func keepAlive() async throws {
        let server = makeServer()
        try await withRunningServer(server) { port in
            let client = try await RawHTTPClient.connect(port: port)
            let first = try await client.request("/healthz")
            let second = try await client.request("/findings")
            #expect(first.statusCode == 200)
            #expect(first.header("Connection") == nil)
            #expect(second.statusCode == 200)
            #expect(second.bodyText == FakeEndpointHandler.findingsJSON)

            try await client.send(
                "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /metrics HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\n"
            )
            let pipelined = [
                try await client.readResponse(), try await client.readResponse(), try await client.readResponse(),
            ]
            #expect(pipelined.map(\.statusCode) == [200, 200, 404])
            #expect(pipelined[1].bodyText == FakeEndpointHandler.metricsText)
            #expect(server.statistics.snapshot().acceptedConnections == 1)
        }
    }

    @Test("Connection: close and HTTP/1.0 end the connection after the response")
    func connectionClose() async throws {
        try await withRunningServer(makeServer()) { port in
            let client = try await RawHTTPClient.connect(port: port)
            let response = try await client.request("/healthz", headers: ["Connection: close"])
            #expect(response.statusCode == 200)
            #expect(response.header("Connection") == "close")
            #expect(try await client.waitForClose(timeout: .seconds(5)))

            let old = try await RawHTTPClient.connect(port: port)
            try await old.send("GET /healthz HTTP/1.0\r\n\r\n")
            let oldResponse = try await old.readResponse()
            #expect(oldResponse.statusCode == 200)
            #expect(try await old.waitForClose(timeout: .seconds(5)))
        }
    }

    @Test("Responses are counted by status class")
    func statistics() async throws {
        let server = makeServer()
        try await withRunningServer(server) { port in
            let client = try await RawHTTPClient.connect(port: port)
            _ = try await client.request("/metrics")
            _ = try await client.request("/readyz")
            _ = try await client.request("/nope")
            _ = try await client.request("/metrics", method: "DELETE")
            let snapshot = server.statistics.snapshot()
            #expect(snapshot.responses(statusClass: 2) == 1)
            #expect(snapshot.responses(statusClass: 4) == 2)
            #expect(snapshot.responses(statusClass: 5) == 1)
        }
    }
}

@Suite("HTTP endpoint: protocol switches", .serialized, .timeLimit(.minutes(1)))
struct HTTPServerUpgradeTests {
    @Test("A request asking for an upgrade is served without switching and the connection is closed")
    func upgradeIsNotHonoured() async throws {
        try await withRunningServer(makeServer()) { port in
            let client = try await RawHTTPClient.connect(port: port)
            let response = try await client.request(
                "/healthz", headers: ["Connection: Upgrade", "Upgrade: websocket"])
            #expect(response.statusCode == 200)
            #expect(response.header("Connection") == "close")
            #expect(try await client.waitForClose(timeout: .seconds(5)))
        }
    }

    @Test("CONNECT is 405 and the connection is closed")
    func connect() async throws {
        try await withRunningServer(makeServer()) { port in
            let client = try await RawHTTPClient.connect(port: port)
            try await client.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
            // NIO frames any response to CONNECT without a body or Content-Length.
            let response = try await client.readResponse(bodyless: true)
            #expect(response.statusCode == 405)
            #expect(response.header("Allow") == "GET, HEAD")
            #expect(try await client.waitForClose(timeout: .seconds(5)))
        }
    }
}
