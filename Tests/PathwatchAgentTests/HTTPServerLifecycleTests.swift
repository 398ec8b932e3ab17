import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@testable import PathwatchAgent

@Suite("HTTP endpoint: lifecycle", .serialized, .timeLimit(.minutes(1)))
struct HTTPServerLifecycleTests {
    @Test("Graceful shutdown closes the listener and idle connections and returns from run()")
    func gracefulShutdown() async throws {
        let server = makeServer()
        var port = 0
        let idle: RawHTTPClient
        (port, idle) = try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                let port = try #require(try await server.boundAddress.port)
                let idle = try await RawHTTPClient.connect(port: port)
                #expect(try await idle.request("/healthz").statusCode == 200)

                trigger.triggerGracefulShutdown()
                try await group.waitForAll()  // run() returns
                return (port, idle)
            }
        }
        #expect(try await idle.waitForClose(timeout: .seconds(5)))
        await #expect(throws: RawHTTPClient.ClientError.self) {
            _ = try await RawHTTPClient.connect(port: port)
        }
    }

    @Test("Graceful shutdown lets the request in flight finish with Connection: close")
    func gracefulShutdownWithRequestInFlight() async throws {
        let gate = Gate()
        let server = makeServer(handler: FakeEndpointHandler(findingsGate: gate))
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run() }
                let port = try #require(try await server.boundAddress.port)
                let busy = try await RawHTTPClient.connect(port: port)
                try await busy.send("GET /findings HTTP/1.1\r\nHost: t\r\n\r\n")
                await gate.entered()

                trigger.triggerGracefulShutdown()
                gate.open()
                let response = try await busy.readResponse()
                #expect(response.statusCode == 200)
                #expect(response.bodyText == FakeEndpointHandler.findingsJSON)
                #expect(response.header("Connection") == "close")
                #expect(try await busy.waitForClose(timeout: .seconds(5)))
                try await group.waitForAll()
            }
        }
    }

    @Test("The server runs as a Service in a ServiceGroup and stops on its graceful shutdown")
    func inServiceGroup() async throws {
        let server = makeServer()
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: server)], logger: quietLogger)
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let port = try #require(try await server.boundAddress.port)
            let client = try await RawHTTPClient.connect(port: port)
            #expect(try await client.request("/healthz").statusCode == 200)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            #expect(try await client.waitForClose(timeout: .seconds(5)))
        }
    }

    @Test("Cancelling run() stops the server and closes its connections")
    func cancellation() async throws {
        let server = makeServer()
        let run = Task { try await server.run() }
        let port = try #require(try await server.boundAddress.port)
        let client = try await RawHTTPClient.connect(port: port)
        #expect(try await client.request("/healthz").statusCode == 200)
        run.cancel()
        _ = await run.result
        #expect(try await client.waitForClose(timeout: .seconds(5)))
        await #expect(throws: RawHTTPClient.ClientError.self) {
            _ = try await RawHTTPClient.connect(port: port)
        }
    }

    @Test("Binding a port in use fails with a one-sentence message naming the address")
    func bindFailure() async throws {
        try await withRunningServer(makeServer()) { port in
            let second = makeServer(port: port)
            let error = await #expect(throws: HTTPServerError.self) { try await second.run() }
            #expect(error?.kind == .bindFailed)
            #expect(error?.description == "Cannot serve HTTP on 127.0.0.1:\(port): the address is already in use.")
            await #expect(throws: HTTPServerError.self) { _ = try await second.boundAddress }
        }
    }

    @Test("A host that is not an IP address, or a bad port, fails with a clear message")
    func invalidAddress() async throws {
        let badHost = makeServer(host: "not-an-address", port: 8080)
        let error = await #expect(throws: HTTPServerError.self) { try await badHost.run() }
        #expect(error?.kind == .invalidAddress)
        #expect(
            error?.description
                == "Cannot serve HTTP on not-an-address:8080: 'not-an-address' is not an IP address (use for example 0.0.0.0, :: or 127.0.0.1)."
        )

        let badPort = makeServer(port: 70000)
        let portError = await #expect(throws: HTTPServerError.self) { try await badPort.run() }
        #expect(portError?.description == "Cannot serve HTTP on 127.0.0.1:70000: the port is not between 0 and 65535.")
    }

    @Test("An address not assigned to this node fails with a clear message")
    func addressNotAssigned() async throws {
        // 192.0.2.0/24 is TEST-NET-1 (RFC 5737); no interface of a test machine has it.
        let server = makeServer(host: "192.0.2.1", port: 0)
        let error = await #expect(throws: HTTPServerError.self) { try await server.run() }
        #expect(error?.description.hasPrefix("Cannot serve HTTP on 192.0.2.1:0: ") == true)
        #expect(error?.kind == .bindFailed)
    }
}
