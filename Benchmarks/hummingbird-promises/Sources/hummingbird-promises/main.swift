// A Hummingbird 2 server set up as close to docs/http.md's promises as Hummingbird's own
// settings allow, with nothing of ours in front: the point is to see which promise a setting
// keeps and which needs a handler of ours. Measured by Benchmarks/run-hummingbird-promises.sh.
//
//   hummingbird-promises PORT MAX_CONNECTIONS IDLE_SECONDS MAX_HEAD_BYTES
import Hummingbird
import HummingbirdCore
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
guard arguments.count == 4 else {
    print("usage: hummingbird-promises PORT MAX_CONNECTIONS IDLE_SECONDS MAX_HEAD_BYTES")
    exit(2)
}
let (port, maxConnections, idleSeconds, maxHeadBytes) = (arguments[0], arguments[1], arguments[2], arguments[3])

/// 405 with `Allow` for every method but GET and HEAD, 413 (and `Connection: close`) for any
/// request that announces a body: what a middleware can do.
struct PromisesMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            return Response(status: .methodNotAllowed, headers: [.allow: "GET, HEAD"])
        }
        let length = request.headers[.contentLength].flatMap { Int($0) } ?? 0
        if length > 0 || request.headers[.transferEncoding] != nil {
            return Response(status: .contentTooLarge, headers: [.connection: "close"])
        }
        return try await next(request, context)
    }
}

let router = Router()
router.add(middleware: PromisesMiddleware())
router.get("/healthz") { _, _ in "ok\n" }
// A large answer (8 MiB), like /state on a node with many routes, for the write-timeout check.
let big = ByteBuffer(repeating: UInt8(ascii: "x"), count: 8 << 20)
router.get("/state") { _, _ in Response(status: .ok, body: .init(byteBuffer: big)) }

var decoder = HTTP1Channel.Configuration.DecoderConfiguration()
decoder.maxHeaderListSize = maxHeadBytes
decoder.maxHeaderFieldSize = maxHeadBytes
let app = Application(
    router: router,
    server: .http1(configuration: .init(idleTimeout: .seconds(Int64(idleSeconds)), httpDecoderConfiguration: decoder)),
    configuration: .init(
        address: .hostname("0.0.0.0", port: port), availableConnectionsDelegate: MaximumAvailableConnections(maxConnections))
)
try await app.runService()
