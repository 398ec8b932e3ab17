import Glibc
import NIOCore
import NIOHTTP1
import NIOPosix
import PathwatchCore
import Testing

@testable import PathwatchAgent

/// The bounds docs/security.md promises for the metadata client, against a canned server on
/// loopback: an answer's head or body over its limit, a service that never answers, a name
/// instead of an address, a redirect.
@Suite("Metadata HTTP client bounds")
struct MetadataHTTPClientTests {
    /// Answers every request with `answer` (nil: reads and never answers).
    final class Canned: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answer: [UInt8]?
        init(_ answer: [UInt8]?) { self.answer = answer }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard let answer else { return }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: answer)), promise: nil)
        }
    }

    static func withServer(_ answer: String?, _ body: (Int) async throws -> Void) async throws {
        let bytes = answer.map { Array($0.utf8) }
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Canned(bytes)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            try await body(server.localAddress!.port!)
        } catch {
            try await server.close()
            throw error
        }
        try await server.close()
    }

    func get(_ port: Int, host: String = "127.0.0.1", timeout: Double = 2) async -> Result<HTTPResponse, MetadataError> {
        let client = MetadataHTTPClient()
        let result: Result<HTTPResponse, MetadataError>
        do {
            result = .success(try await client.request(.GET, host: host, port: port, "/latest/x", headers: [], timeout: timeout))
        } catch {
            result = .failure(error)
        }
        await client.shutdown()
        return result
    }

    @Test func aGoodAnswerIsReturnedWhole() async throws {
        try await Self.withServer("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello") { port in
            #expect(await get(port) == .success(HTTPResponse(status: 200, body: Array("hello".utf8))))
        }
    }

    @Test func aHeadOverTheLimitIsGarbage() async throws {
        let pad = String(repeating: "h", count: HTTPResponse.maxHeadBytes)
        try await Self.withServer("HTTP/1.1 200 OK\r\nX-Pad: \(pad)\r\nContent-Length: 2\r\n\r\nok") { port in
            await #expect(throws: MetadataError(.garbage, "response head larger than \(HTTPResponse.maxHeadBytes) bytes")) {
                try await get(port).get()
            }
        }
    }

    @Test func aBodyOverTheLimitIsGarbage() async throws {
        let body = String(repeating: "x", count: InstanceMetadata.maxBodyBytes + 1)
        try await Self.withServer("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)") { port in
            #expect(await get(port).failureReason == .garbage)
        }
    }

    @Test func aServiceThatNeverAnswersTimesOutOnTime() async throws {
        try await Self.withServer(nil) { port in
            let start = ContinuousClock.now
            #expect(await get(port, timeout: 0.5).failureReason == .timeout)
            // The server holds the connection forever: without the deadline this would hang.
            // Generous, because the unit suites run in parallel on two busy cores.
            #expect(ContinuousClock.now - start < .seconds(10))
        }
    }

    /// Refused is unreachable at once, not retried into a timeout (discovery logs the state once).
    /// The port is held bound but not listening for the whole test, so the kernel refuses every
    /// connection to it and no test running in parallel can take it over.
    @Test func aRefusedConnectionIsUnreachableAtOnce() async throws {
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(holder >= 0)
        defer { close(holder) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(holder, $0, length) == 0 && getsockname(holder, $0, &length) == 0
            }
        }
        try #require(bound)
        let start = ContinuousClock.now
        // A timeout far longer than the bound: a retried connection could not pass.
        #expect(await get(Int(UInt16(bigEndian: address.sin_port)), timeout: 30).failureReason == .unreachable)
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test func aNameIsRefusedWithoutAsking() async {
        #expect(await get(80, host: "localhost").failureReason == .unreachable)
    }

    @Test func aRedirectIsNotFollowed() async throws {
        try await Self.withServer("HTTP/1.1 301 Moved\r\nLocation: http://192.0.2.1/\r\nContent-Length: 0\r\n\r\n") { port in
            #expect(await get(port).map(\.status) == .success(301))
        }
    }

    @Test func notHTTPIsGarbage() async throws {
        try await Self.withServer("SSH-2.0-OpenSSH_9.2\r\n\r\n") { port in
            #expect(await get(port).failureReason == .garbage)
        }
    }
}

extension Result where Failure == MetadataError {
    var failureReason: MetadataError.Reason? {
        if case .failure(let error) = self { error.reason } else { nil }
    }
}
