import AsyncHTTPClient
import FoundationEssentials
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PathwatchCore

/// HTTPS to the API server: the server certificate verified against the configured CA, the
/// bearer token read from its file for every request (kubelet rotates projected tokens in
/// place), every request counted in `pathwatch_kubernetes_requests_total{verb,result}`.
///
/// Never on the detection path: reporters call it from their own tasks, with timeouts.
public final class KubernetesClient: Sendable {
    private let http: HTTPClient
    private let server: String
    private let credentials: KubernetesAccess.Credentials
    private let metrics: KubernetesMetrics
    private let timeout: TimeAmount
    /// Answers larger than this are refused: a pod list of a full node is far below it.
    static let maxBodyBytes = 32 << 20

    public init(
        access: KubernetesAccess, metrics: KubernetesMetrics, timeoutSeconds: Double, eventLoopGroup: any EventLoopGroup
    ) throws(KubernetesAPIError) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .fullVerification
        do {
            if let authority = access.certificateAuthority {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(try Self.bytes(authority)))
            }
            if case .clientCertificate(let certificate, let key) = access.credentials {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(try Self.bytes(certificate)).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: try Self.bytes(key), format: .pem))
            }
        } catch let error as KubernetesAPIError {
            throw error
        } catch {
            throw .configuration("certificate or key not usable: \(error)")
        }
        let milliseconds = Int64(timeoutSeconds * 1000)
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .milliseconds(milliseconds), read: nil))
        configuration.httpVersion = .http1Only
        http = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: configuration)
        server = access.server
        credentials = access.credentials
        self.metrics = metrics
        timeout = .milliseconds(milliseconds)
    }

    public func shutdown() async {
        try? await http.shutdown()
    }

    /// One request and its whole answer; a non-2xx status is thrown with the API's message.
    public func send(
        _ verb: KubernetesMetrics.Verb, _ path: String, body: [UInt8]? = nil, contentType: String = "application/json"
    ) async throws(KubernetesAPIError) -> [UInt8] {
        let request = try makeRequest(verb, path, body: body, contentType: contentType)
        do {
            let response = try await http.execute(request, timeout: timeout)
            let buffer = try await response.body.collect(upTo: Self.maxBodyBytes)
            let bytes = Array(buffer.readableBytesView)
            let result = KubernetesMetrics.Result(status: Int(response.status.code))
            metrics.count(verb, result)
            guard result == .success else { throw KubernetesAPIError.status(Int(response.status.code), Self.statusMessage(bytes)) }
            return bytes
        } catch let error as KubernetesAPIError {
            throw error
        } catch {
            metrics.count(verb, .unreachable)
            throw .unreachable("\(error)")
        }
    }

    /// A watch: each line of the answer as it arrives, until the server ends it (the path's
    /// `timeoutSeconds`) or `deadlineSeconds` pass, so a silently dead connection is noticed.
    public func watch(_ path: String, deadlineSeconds: Double, onLine: @Sendable ([UInt8]) throws -> Void) async throws {
        let request = try makeRequest(.watch, path, body: nil, contentType: "application/json")
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, deadline: .now() + .milliseconds(Int64(deadlineSeconds * 1000)))
        } catch {
            metrics.count(.watch, .unreachable)
            throw KubernetesAPIError.unreachable("\(error)")
        }
        let result = KubernetesMetrics.Result(status: Int(response.status.code))
        metrics.count(.watch, result)
        guard result == .success else {
            let body = (try? await response.body.collect(upTo: 64 << 10)).map { Array($0.readableBytesView) } ?? []
            throw KubernetesAPIError.status(Int(response.status.code), Self.statusMessage(body))
        }
        var pending: [UInt8] = []
        for try await chunk in response.body {
            pending.append(contentsOf: chunk.readableBytesView)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if !line.isEmpty { try onLine(line) }
            }
            if pending.count > Self.maxBodyBytes {
                throw KubernetesAPIError.invalidAnswer("a watch line longer than \(Self.maxBodyBytes) bytes")
            }
        }
    }

    private func makeRequest(
        _ verb: KubernetesMetrics.Verb, _ path: String, body: [UInt8]?, contentType: String
    ) throws(KubernetesAPIError) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: server + path)
        switch verb {
        case .get, .list, .watch: request.method = .GET
        case .patch: request.method = .PATCH
        case .create: request.method = .POST
        }
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "pathwatch")
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        if let token = try bearerToken() { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        return request
    }

    private func bearerToken() throws(KubernetesAPIError) -> String? {
        switch credentials {
        case .token(let token): return token
        case .tokenFile(let file):
            let token: String
            do {
                token = try TextFile.read(file).trimmingWhitespace()
            } catch {
                throw .configuration("cannot read the token file \(file): \(error)")
            }
            guard !token.isEmpty else { throw .configuration("the token file \(file) is empty") }
            return token
        case .none, .clientCertificate: return nil
        }
    }

    static func bytes(_ source: KubernetesAccess.PEMSource) throws(KubernetesAPIError) -> [UInt8] {
        switch source {
        case .data(let bytes): return bytes
        case .file(let path):
            do {
                return try TextFile.bytes(path)
            } catch {
                throw .configuration("cannot read \(path): \(error)")
            }
        }
    }

    /// The `message` of an API `Status` body, or the start of whatever came instead.
    static func statusMessage(_ body: [UInt8]) -> String {
        struct Status: Decodable { var message: String? }
        if let status = try? JSONDecoder().decode(Status.self, from: Data(body)), let message = status.message { return message }
        return String(decoding: body.prefix(120), as: UTF8.self)
    }
}
