import Foundation
import Logging
import NIOCore
import NIOEmbedded
import PathwatchAgent
import Testing

/// The harness the HTTP fuzzer drives is only built with the fuzzers; this keeps it working in
/// the ordinary test run, on the fuzzer's own pipelined seed.
@Suite("HTTP connection harness", .timeLimit(.minutes(1)))
struct HTTPConnectionHarnessTests {
    @Test("Pipelined requests over an in-memory channel are answered in order, then the connection closes")
    func pipelinedRequests() async throws {
        let seed = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/Seeds/HTTPFuzzer/pipelined.http")
        let request = try [UInt8](Data(contentsOf: seed))
        let channel = NIOAsyncTestingChannel()
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9469))
        let statistics = HTTPServerStatistics()
        let connection = try await HTTPConnectionHarness(
            channel: channel, handler: FakeEndpointHandler(), statistics: statistics,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let served = Task { await connection.run() }
        try await channel.writeInbound(ByteBuffer(bytes: request))
        try await channel.testingEventLoop.executeInContext {
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        await served.value

        var output = ""
        while let part = try await channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = part else { continue }
            output += String(buffer: buffer)
        }
        // No body here contains a status line, so each one starts a response.
        let statuses = output.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) }
        // healthz, HEAD readyz (503 from the fake), findings, state, a missing path, metrics with
        // Connection: close; the request after that is not answered.
        #expect(statuses == ["200", "503", "200", "200", "404", "200"])
        #expect(output.hasSuffix("Connection: close\r\n\r\n" + FakeEndpointHandler.metricsText))
        #expect(!channel.isActive)
        #expect(statistics.snapshot().responses(statusClass: 2) == 4)
    }
}
