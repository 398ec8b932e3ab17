import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PathwatchCore
import Synchronization

/// A stand-in Kubernetes API server over real HTTPS on loopback, with its own CA (made with
/// openssl by ``TestPKI``) and a bearer token: what the agent's reporters talk to in tests.
///
/// It keeps one Node (conditions merged by type, as a strategic merge patch does), records the
/// Events it is sent, serves a pod list and a watch the test feeds line by line, and can be
/// told to fail the next requests (403, 409, garbage) or to go away and come back.
final class StandInAPIServer: Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        var authorized: Bool
        var contentType: String?
        var body: [UInt8]
    }

    struct Fault: Sendable {
        var method: String
        var pathPrefix: String
        var status: Int
        var body: String
    }

    struct State: Sendable {
        var token: String
        var nodeName: String
        var nodeUID = "6b6f6e6f-0000-4000-8000-000000000001"
        var conditions: [String: NodeCondition] = [:]
        var otherConditions =
            #"{"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status","lastHeartbeatTime":"2026-12-01T00:00:00Z","lastTransitionTime":"2026-12-01T00:00:00Z"}"#
        var events: [[UInt8]] = []
        var requests: [Request] = []
        var faults: [Fault] = []
        var podList = #"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}"#
        var watchers: [any Channel] = []
        var connections: [any Channel] = []
    }

    let state: Mutex<State>
    private let group: MultiThreadedEventLoopGroup
    private let tls: NIOSSLContext
    private let listener = Mutex<(any Channel)?>(nil)
    private let boundPort = Mutex(0)
    var port: Int { boundPort.withLock { $0 } }

    init(pki: TestPKI, token: String, nodeName: String) async throws {
        state = Mutex(State(token: token, nodeName: nodeName))
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(pki.serverCertificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: pki.serverKey, format: .pem)))
        tls = try NIOSSLContext(configuration: configuration)
        let channel = try await bind(port: 0)
        boundPort.withLock { $0 = channel.localAddress?.port ?? 0 }
    }

    /// Stops listening and drops every connection: the API server is unreachable.
    func goAway() async throws {
        let channel = listener.withLock { l in
            defer { l = nil }
            return l
        }
        try await channel?.close()
        let open = state.withLock { s in
            defer {
                s.connections = []
                s.watchers = []
            }
            return s.connections
        }
        for connection in open { try? await connection.close() }
    }

    /// Listens again on the same port.
    func comeBack() async throws { _ = try await bind(port: port) }

    func shutdown() async throws {
        try await goAway()
        try await group.shutdownGracefully()
    }

    /// Sends one line to the watch opened last (an agent has one watch at a time; an earlier
    /// one is a watch it has given up).
    func sendWatchLine(_ line: String) {
        guard let channel = state.withLock({ $0.watchers.last }) else { return }
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: line + "\n"))), promise: nil)
    }

    /// Watch requests answered so far.
    var watchesOpened: Int { state.withLock { $0.watchers.count } }

    private func bind(port: Int) async throws -> any Channel {
        let tls = self.tls
        let server = self
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(StandInHandler(server: server))
                    server.state.withLock { $0.connections.append(channel) }
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        listener.withLock { $0 = channel }
        return channel
    }

    /// The answer to one request: status, body, and whether the response stays open (a watch).
    fileprivate func answer(_ request: Request, channel: any Channel) -> (Int, String, Bool) {
        state.withLock { s in
            s.requests.append(request)
            guard request.authorized else { return (401, #"{"kind":"Status","code":401,"message":"Unauthorized"}"#, false) }
            if let index = s.faults.firstIndex(where: { $0.method == request.method && request.path.hasPrefix($0.pathPrefix) }) {
                let fault = s.faults.remove(at: index)
                return (fault.status, fault.body, false)
            }
            let node = "/api/v1/nodes/\(s.nodeName)"
            switch (request.method, request.path) {
            case ("GET", node):
                return (200, Self.nodeJSON(s), false)
            case ("PATCH", node + "/status"):
                guard request.contentType == NodeConditionPatch.contentType else { return (415, "{}", false) }
                struct Patch: Decodable {
                    struct Status: Decodable { var conditions: [NodeCondition] }
                    var status: Status
                }
                guard let patch = try? KubernetesJSON.decoder().decode(Patch.self, from: Data(request.body)) else {
                    return (400, #"{"kind":"Status","code":400,"message":"bad patch"}"#, false)
                }
                for condition in patch.status.conditions { s.conditions[condition.type] = condition }
                return (200, Self.nodeJSON(s), false)
            case ("POST", "/api/v1/namespaces/default/events"):
                // As the API server does: a name from generateName, then the object as stored.
                guard var event = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any],
                    var metadata = event["metadata"] as? [String: Any], let prefix = metadata["generateName"] as? String
                else { return (422, #"{"kind":"Status","code":422,"message":"invalid event"}"#, false) }
                metadata["name"] = prefix + String(UUID().uuidString.prefix(5)).lowercased()
                event["metadata"] = metadata
                let stored = (try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])) ?? Data()
                s.events.append(Array(stored))
                return (201, String(decoding: stored, as: UTF8.self), false)
            case ("GET", let path) where path.hasPrefix("/api/v1/pods?fieldSelector=spec.nodeName%3D\(s.nodeName)"):
                if path.contains("watch=true") {
                    s.watchers.append(channel)
                    return (200, "", true)
                }
                return (200, s.podList, false)
            default:
                return (404, #"{"kind":"Status","code":404,"message":"not found"}"#, false)
            }
        }
    }

    static func nodeJSON(_ s: State) -> String {
        let ours = s.conditions.values.sorted { $0.type < $1.type }.map { String(decoding: KubernetesJSON.encode($0), as: UTF8.self) }
        let conditions = ([s.otherConditions] + ours).joined(separator: ",")
        return
            #"{"apiVersion":"v1","kind":"Node","metadata":{"name":"\#(s.nodeName)","uid":"\#(s.nodeUID)"},"status":{"conditions":[\#(conditions)]}}"#
    }
}

private final class StandInHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let server: StandInAPIServer
    var head: HTTPRequestHead?
    var body: [UInt8] = []

    init(server: StandInAPIServer) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let head else { return }
            let token = server.state.withLock { $0.token }
            let request = StandInAPIServer.Request(
                method: head.method.rawValue, path: head.uri, authorized: head.headers["Authorization"].first == "Bearer \(token)",
                contentType: head.headers["Content-Type"].first, body: body)
            let (status, text, streaming) = server.answer(request, channel: context.channel)
            var headers = HTTPHeaders([("Content-Type", "application/json")])
            if streaming {
                headers.add(name: "Transfer-Encoding", value: "chunked")
            } else {
                headers.add(name: "Content-Length", value: "\(text.utf8.count)")
            }
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .init(statusCode: status), headers: headers))),
                promise: nil)
            if streaming {
                context.flush()
                return
            }
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

/// A throwaway CA and a server certificate for 127.0.0.1 signed by it, made with openssl.
struct TestPKI {
    let directory: URL
    var caCertificate: String { directory.appendingPathComponent("ca.crt").path }
    var serverCertificate: String { directory.appendingPathComponent("server.crt").path }
    var serverKey: String { directory.appendingPathComponent("server.key").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("pathwatch-kube-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let d = directory.path
        try Self.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "\(d)/ca.key", "-out",
            "\(d)/ca.crt", "-days", "1", "-subj", "/CN=pathwatch test CA",
        ])
        try Self.openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "\(d)/server.key", "-out",
            "\(d)/server.csr", "-subj", "/CN=127.0.0.1",
        ])
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: "\(d)/san.ext", atomically: true, encoding: .utf8)
        try Self.openssl([
            "x509", "-req", "-in", "\(d)/server.csr", "-CA", "\(d)/ca.crt", "-CAkey", "\(d)/ca.key", "-CAcreateserial", "-out",
            "\(d)/server.crt", "-days", "1", "-extfile", "\(d)/san.ext",
        ])
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }

    /// The same runner the web-config tests use.
    static func openssl(_ arguments: [String]) throws { try TestCertificates.openssl(arguments) }
}
