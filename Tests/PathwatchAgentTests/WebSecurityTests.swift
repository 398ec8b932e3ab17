import Foundation
import HummingbirdBcrypt
import Logging
import NIOPosix
import NIOSSL
import Synchronization
import Testing

@testable import PathwatchAgent

/// Issue 18: with a web config, plain HTTP fails, HTTPS without or with a wrong password gets 401
/// and with the right one 200; certificates rotate without a restart. On loopback, with throwaway
/// CAs made by openssl.
@Suite("HTTP endpoint: web config (TLS, basic auth, reload)", .timeLimit(.minutes(2)))
struct WebSecurityTests {
    static let password = "s3cret"

    func writeWebConfig(
        _ certs: TestCertificates, clientAuth: String? = nil, users: Bool = true, certificate: String = "server.crt",
        key: String = "server.key"
    ) throws -> String {
        var text = "tls_server_config:\n  cert_file: \(certs.path(certificate))\n  key_file: \(certs.path(key))\n"
        if let clientAuth { text += "  client_auth_type: \(clientAuth)\n  client_ca_file: \(certs.path("ca.crt"))\n" }
        if users { text += "basic_auth_users:\n  prometheus: \(Bcrypt.hash(Self.password, cost: 4))\n" }
        try text.write(toFile: certs.path("web.yml"), atomically: true, encoding: .utf8)
        return certs.path("web.yml")
    }

    func makeServer(_ security: WebSecurity) -> HTTPServer {
        HTTPServer(
            host: "127.0.0.1", port: 0, handler: FakeEndpointHandler(), security: security, logger: quietLogger,
            eventLoopGroup: .singleton)
    }

    @Test func plainHTTPFailsAndPasswordsAreChecked() async throws {
        let certs = try TestCertificates()
        defer { certs.remove() }
        try certs.makeCA("ca")
        try certs.makeLeaf("server", signedBy: "ca")
        let security = try WebSecurity(path: try writeWebConfig(certs), logger: quietLogger)
        let server = makeServer(security)
        try await withRunningServer(server) { port in
            let plain = try await RawHTTPClient.connect(port: port)
            defer { plain.close() }
            try await plain.send("GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
            #expect(try await plain.waitForClose(timeout: .seconds(5)))
            #expect(try await eventually { server.statistics.snapshot().tlsFailures == 1 })

            let anonymous = try await certs.get(port: port, trusting: "ca")
            #expect(anonymous.status == 401)
            #expect(anonymous.headers["WWW-Authenticate"] == [#"Basic realm="pathwatch""#])
            #expect(try await certs.get(port: port, path: "/healthz", trusting: "ca").status == 401)
            // A verification within 3× the time of the last one gets 429 at once: retried here.
            func status(_ password: String, path: String = "/metrics") async throws -> Int {
                for _ in 0..<50 {
                    let status = try await certs.get(port: port, path: path, trusting: "ca", user: "prometheus", password: password).status
                    if status != 429 { return status }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return 429
            }
            #expect(try await status("wrong") == 401)
            #expect(try await status(Self.password) == 200)
            #expect(try await status(Self.password, path: "/healthz") == 200)
            #expect(server.statistics.snapshot().unauthorized == 3)
        }
    }

    @Test func requiredClientCertificatesAreRequired() async throws {
        let certs = try TestCertificates()
        defer { certs.remove() }
        try certs.makeCA("ca")
        try certs.makeCA("other")
        try certs.makeLeaf("server", signedBy: "ca")
        try certs.makeLeaf("client", signedBy: "ca")
        try certs.makeLeaf("stranger", signedBy: "other")
        let path = try writeWebConfig(certs, clientAuth: "RequireAndVerifyClientCert", users: false)
        let security = try WebSecurity(path: path, logger: quietLogger)
        let server = makeServer(security)
        try await withRunningServer(server) { port in
            await #expect(throws: (any Error).self) { try await certs.get(port: port, trusting: "ca") }
            await #expect(throws: (any Error).self) { try await certs.get(port: port, trusting: "ca", clientCertificate: "stranger") }
            let withCertificate = try await certs.get(port: port, trusting: "ca", clientCertificate: "client")
            #expect(withCertificate.status == 200)
            #expect(server.statistics.snapshot().tlsFailures >= 2)
        }
    }

    @Test func aRotatedCertificateIsServedAndABrokenOneIsNot() async throws {
        let certs = try TestCertificates()
        defer { certs.remove() }
        try certs.makeCA("ca")
        try certs.makeCA("ca2")
        try certs.makeLeaf("server", signedBy: "ca")
        try certs.makeLeaf("renewed", signedBy: "ca2")
        try certs.publishSecret(version: 1, certificate: certs.contents("server.crt"), key: certs.contents("server.key"))
        let results = Mutex<[Bool]>([])
        let path = try writeWebConfig(certs, users: false, certificate: "secret/tls.crt", key: "secret/tls.key")
        let security = try WebSecurity(path: path, logger: quietLogger, onResult: { ok in results.withLock { $0.append(ok) } })
        let server = makeServer(security)
        let watcher = Task { try await WebConfigWatcher(security: security, interval: .milliseconds(50)).run() }
        defer { watcher.cancel() }
        try await withRunningServer(server) { port in
            #expect(try await certs.get(port: port, trusting: "ca").status == 200)
            // AsyncHTTPClient retries a failed handshake until the deadline, then reports it.
            await #expect(throws: NIOSSLError.self) { try await certs.get(port: port, trusting: "ca2", timeout: .seconds(1)) }

            // A renewal: new key and certificate, swapped in at once through the ..data link.
            try certs.publishSecret(version: 2, certificate: certs.contents("renewed.crt"), key: certs.contents("renewed.key"))
            #expect(try await eventually { results.withLock { $0.last == true } })
            #expect(try await certs.get(port: port, trusting: "ca2").status == 200)

            // A broken certificate: refused once, the renewed one stays.
            try certs.publishSecret(version: 3, certificate: Data("not a certificate\n".utf8), key: certs.contents("renewed.key"))
            #expect(try await eventually { results.withLock { $0.last == false } })
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await certs.get(port: port, trusting: "ca2").status == 200)
            #expect(results.withLock { $0 } == [true, false])
        }
    }

    /// Reloads come with every SIGHUP: the same users keep their gate, so verified credentials
    /// are not verified again; changed users get a new one.
    @Test func aReloadWithTheSameUsersKeepsTheirCache() throws {
        let certs = try TestCertificates()
        defer { certs.remove() }
        try certs.makeCA("ca")
        try certs.makeLeaf("server", signedBy: "ca")
        let path = try writeWebConfig(certs)
        let security = try WebSecurity(path: path, logger: quietLogger)
        let before = try #require(security.state.auth)
        security.reload(reason: "test")
        #expect(security.state.auth === before)
        _ = try writeWebConfig(certs)  // a new salt: another hash
        security.reload(reason: "test")
        #expect(security.state.auth !== before)
    }

    @Test func startUpErrorsNameTheKey() throws {
        let certs = try TestCertificates()
        defer { certs.remove() }
        let path = certs.path("web.yml")
        func refusal(_ text: String) -> String? {
            try? text.write(toFile: path, atomically: true, encoding: .utf8)
            do {
                _ = try WebSecurity(path: path, logger: quietLogger)
                return nil
            } catch { return error.description }
        }
        let missing = refusal("tls_server_config:\n  cert_file: /nonexistent/tls.crt\n  key_file: /nonexistent/tls.key\n")
        #expect(missing == "web config \(path): tls_server_config.cert_file: /nonexistent/tls.crt: no such file")
        #expect(refusal("tls_server_config:\n  certfile: a\n")?.contains("tls_server_config.certfile: unknown key") == true)
        #expect(refusal("basic_auth_users:\n  a: b\n")?.contains("basic_auth_users.a: not a bcrypt hash") == true)
        try certs.makeCA("ca")
        try certs.makeLeaf("server", signedBy: "ca")
        try certs.makeLeaf("other", signedBy: "ca")
        let mismatched = refusal("tls_server_config:\n  cert_file: \(certs.path("server.crt"))\n  key_file: \(certs.path("other.key"))\n")
        #expect(mismatched?.contains("tls_server_config.key_file") == true)
        #expect(throws: (any Error).self) { try WebSecurity(path: certs.path("absent.yml"), logger: quietLogger) }
    }
}
