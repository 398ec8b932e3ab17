import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import PathwatchAgent

/// Issue 18: `/state` lists every flow and route; a peer on the network got it with a 200.
@Suite("HTTP endpoint: /state to loopback clients only", .timeLimit(.minutes(1)))
struct StateAccessTests {
    @Test(arguments: [
        ("127.0.0.1", true), ("127.1.2.3", true), ("::1", true), ("::ffff:127.0.0.1", true),
        ("10.0.0.7", false), ("128.0.0.1", false), ("::ffff:10.0.0.7", false), ("fe80::1", false), ("::", false),
    ])
    func loopback(_ address: String, _ isLoopback: Bool) throws {
        #expect(ConnectionLimiter.isLoopback(try SocketAddress(ipAddress: address, port: 1)) == isLoopback)
    }

    /// Sends one request from `peer` through the server's own connection pipeline.
    func status(of request: String, from peer: String, limits: HTTPLimits) async throws -> (String, Int) {
        let channel = NIOAsyncTestingChannel()
        try await channel.connect(to: SocketAddress(ipAddress: peer, port: 40000))
        let statistics = HTTPServerStatistics()
        let connection = try await HTTPConnectionHarness(
            channel: channel, limits: limits, handler: FakeEndpointHandler(), statistics: statistics,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let served = Task { await connection.run() }
        try await channel.writeInbound(ByteBuffer(string: request))
        try await channel.testingEventLoop.executeInContext {
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        await served.value
        var output = ""
        while let part = try await channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let buffer) = part { output += String(buffer: buffer) }
        }
        return (String(output.dropFirst("HTTP/1.1 ".count).prefix(3)), statistics.snapshot().responses(statusClass: 2))
    }

    @Test func aPeerOnTheNetworkGets403ForStateOnly() async throws {
        let request = "GET /state HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        #expect(try await status(of: request, from: "10.0.0.7", limits: HTTPLimits()).0 == "403")
        #expect(try await status(of: request, from: "fd00::7", limits: HTTPLimits()).0 == "403")
        #expect(try await status(of: request, from: "127.0.0.1", limits: HTTPLimits()).0 == "200")
        #expect(try await status(of: request, from: "10.0.0.7", limits: HTTPLimits(stateFromAnyPeer: true)).0 == "200")
        let metrics = "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        #expect(try await status(of: metrics, from: "10.0.0.7", limits: HTTPLimits()).0 == "200")
    }
}
