import Dispatch
import Glibc
import Logging
import NIOCore
import NIOEmbedded
import PathwatchAgent

/// A client's bytes through the HTTP server's own connection pipeline and request loop
/// (`HTTPConnectionHarness`), over an in-memory channel. Besides never trapping, the server must
/// answer with well-formed responses only, stop after a `Connection: close` one, close the
/// connection when its loop ends, and call the endpoint's (read-only) handler only for requests
/// it serves with 200.
///
/// The first byte picks how the input arrives: below 0x80 (every realistic request) it is part of
/// the request and all arrives in one read; otherwise it is dropped and the rest arrives in reads
/// of `(byte & 0x7F) + 1` bytes, so that heads split across reads are covered.
/// Odd-length inputs get small limits (256-byte heads, 64-byte bodies) so that the 431 and the
/// discarded-body paths are within reach; even-length ones the defaults. Inputs whose length is a
/// multiple of three are served behind basic auth (user `prometheus`, password `secret`, a
/// stand-in for bcrypt): then a 200 needs exactly one `Authorization` header that decodes to them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let done = DispatchSemaphore(value: 0)
    Task {
        await serve(input)
        done.signal()
    }
    done.wait()
    return 0
}

/// `Basic base64("prometheus:secret")`, what a request behind basic auth must carry.
private let credentials = "cHJvbWV0aGV1czpzZWNyZXQ="

/// `HTTPFUZZER_SHOW=1 HTTPFuzzer FILE` prints what the server answered to FILE.
private let showOutput = getenv("HTTPFUZZER_SHOW") != nil

private let silent = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })

private func serve(_ input: [UInt8]) async {
    let channel = NIOAsyncTestingChannel()
    let handler = RecordingHandler()
    let statistics = HTTPServerStatistics()
    let limits =
        input.count % 2 == 1 ? HTTPLimits(maxRequestHeadBytes: 256, maxRequestBodyBytes: 64) : HTTPLimits()
    let withAuth = input.count % 3 == 0
    do {
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9469))
        let connection = try await HTTPConnectionHarness(
            channel: channel, limits: limits, handler: handler, statistics: statistics, logger: silent,
            basicAuth: withAuth ? (users: ["prometheus": "hash-of-secret"], verify: { $0 == "secret" && $1 == "hash-of-secret" }) : nil)
        let served = Task { await connection.run() }
        for chunk in chunks(of: input) {
            // Fails once the server has closed the connection; the rest of the input is then unread.
            do { try await channel.writeInbound(ByteBuffer(bytes: chunk)) } catch { break }
        }
        // The client ends its input but still reads, as a client waiting for its answers would.
        try await channel.testingEventLoop.executeInContext {
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        }
        await served.value
    } catch {
        fatalError("the in-memory connection failed: \(error)")
    }
    require(!channel.isActive, "the connection is still open after the request loop ended")

    var output: [UInt8] = []
    while let part = try? await channel.readOutbound(as: IOData.self) {
        guard case .byteBuffer(let buffer) = part else { fatalError("the server wrote a file region") }
        output += buffer.readableBytesView
    }
    if showOutput { print(String(decoding: output, as: UTF8.self), terminator: "") }
    let responses = ResponseStream.parse(output)
    let served = responses.filter { $0.status == 200 }.count
    require(served == handler.callCount, "\(handler.callCount) handler calls for \(served) 200 responses")
    require(
        handler.callCount <= occurrences(of: "GET ", in: input) + occurrences(of: "HEAD ", in: input),
        "the handler was called for a request that is neither GET nor HEAD")
    if withAuth {
        require(
            served == 0 || occurrences(of: credentials, in: input) > 0,
            "served \(served) requests behind basic auth without the credentials in the input")
    }
    let counted = statistics.snapshot().responsesByStatusClass.reduce(0, +)
    require(counted == responses.count, "\(counted) responses counted, \(responses.count) sent")
    await channel.testingEventLoop.shutdownGracefully()
}

/// `precondition` without its message in release builds; the fuzzer's report needs it.
func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

private func chunks(of input: [UInt8]) -> [ArraySlice<UInt8>] {
    guard let first = input.first, first >= 0x80 else { return [input[...]] }
    let size = Int(first & 0x7F) + 1
    return stride(from: 1, to: input.count, by: size).map { input[$0..<min($0 + size, input.count)] }
}

private func occurrences(of word: String, in input: [UInt8]) -> Int {
    let needle = Array(word.utf8)
    guard input.count >= needle.count else { return 0 }
    return (0...(input.count - needle.count)).filter { input[$0..<($0 + needle.count)].elementsEqual(needle) }.count
}
