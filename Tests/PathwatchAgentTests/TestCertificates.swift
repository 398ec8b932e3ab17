import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Throwaway CAs and certificates made with the openssl CLI in a temporary directory, and an
/// HTTPS client (AsyncHTTPClient) that trusts only the CA a test names.
struct TestCertificates {
    let directory: URL

    init() throws {
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("pathwatch-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: self.directory) }

    func path(_ name: String) -> String { self.directory.appendingPathComponent(name).path }

    /// `NAME.crt` and `NAME.key`: a self-signed CA.
    func makeCA(_ name: String) throws {
        try Self.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("\(name).key"),
            "-out", path("\(name).crt"), "-days", "1", "-subj", "/CN=\(name)",
        ])
    }

    /// `NAME.crt` and `NAME.key`, signed by `ca`, valid for 127.0.0.1.
    func makeLeaf(_ name: String, signedBy ca: String) throws {
        try Self.openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("\(name).key"),
            "-out", path("\(name).csr"), "-subj", "/CN=\(name)",
        ])
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: path("\(name).ext"), atomically: true, encoding: .utf8)
        try Self.openssl([
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).crt"), "-CAkey", path("\(ca).key"), "-CAcreateserial",
            "-out", path("\(name).crt"), "-days", "1", "-extfile", path("\(name).ext"),
        ])
    }

    /// Publishes `tls.crt` and `tls.key` in `secret/` the way the kubelet updates a Secret volume
    /// (cert-manager's renewals arrive so): files in a new `..VERSION` directory, then the `..data`
    /// symlink swapped to it by a rename; `tls.crt` and `tls.key` are links through `..data`.
    func publishSecret(version: Int, certificate: Data, key: Data) throws {
        let secret = path("secret")
        let versioned = "\(secret)/..v\(version)"
        try FileManager.default.createDirectory(atPath: versioned, withIntermediateDirectories: true)
        try certificate.write(to: URL(fileURLWithPath: "\(versioned)/tls.crt"))
        try key.write(to: URL(fileURLWithPath: "\(versioned)/tls.key"))
        _ = symlink("..v\(version)", "\(secret)/..data_tmp")
        _ = rename("\(secret)/..data_tmp", "\(secret)/..data")
        for name in ["tls.crt", "tls.key"] where !FileManager.default.fileExists(atPath: "\(secret)/\(name)") {
            _ = symlink("..data/\(name)", "\(secret)/\(name)")
        }
    }

    func contents(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path(name))) }

    static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CertificateError.openssl(arguments) }
    }

    enum CertificateError: Error { case openssl([String]) }

    /// One HTTPS request with a fresh client (no pooled connection survives between calls).
    func get(
        port: Int, path requestPath: String = "/metrics", trusting ca: String, user: String? = nil, password: String = "",
        clientCertificate: String? = nil, timeout: TimeAmount = .seconds(10)
    ) async throws -> (status: Int, headers: HTTPHeaders) {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(path("\(ca).crt"))
        if let clientCertificate {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(path("\(clientCertificate).crt")).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: path("\(clientCertificate).key"), format: .pem))
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
        do {
            var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)\(requestPath)")
            if let user {
                request.headers.add(name: "Authorization", value: "Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
            }
            let response = try await client.execute(request, timeout: timeout)
            _ = try await response.body.collect(upTo: 1 << 20)
            try await client.shutdown()
            return (Int(response.status.code), response.headers)
        } catch {
            try? await client.shutdown()
            throw error
        }
    }
}
