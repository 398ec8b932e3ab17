import FoundationEssentials
import HummingbirdBcrypt
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PathwatchCore
import Synchronization

/// A web configuration the agent cannot use, naming the file and the key:
/// `web config /etc/x.yml: tls_server_config.cert_file: /etc/tls/tls.crt: no such file`.
public struct WebConfigError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var key: String?
    public var message: String

    public var description: String {
        "web config \(self.file): " + (self.key.map { "\($0): " } ?? "") + self.message
    }
}

/// What the HTTP server applies to each new connection: the TLS context (nil: plain HTTP) and the
/// basic-auth gate (nil: no authentication), as last loaded from the web configuration.
struct WebSecurityState: Sendable {
    var tls: NIOSSLContext?
    var clientAuth: WebConfig.ClientAuth
    var auth: BasicAuthGate?
    /// The users `auth` was made from: a reload with the same users keeps it (and its cache).
    var users: [String: String] = [:]
}

/// Loads the web configuration and the files it names, and re-loads them on demand (SIGHUP) or when
/// ``filesChanged()`` sees a change; a load that fails keeps the last good state.
public final class WebSecurity: Sendable {
    public let path: String
    /// The state in force, and the files it was (or a refused version would have been) read from.
    private let current: Mutex<(state: WebSecurityState, files: [String], fingerprint: [FileFingerprint?])>
    private let logger: Logger
    private let onResult: @Sendable (Bool) -> Void

    /// Loads `path` and its files; throws a ``WebConfigError`` naming the key at fault.
    public init(path: String, logger: Logger, onResult: @escaping @Sendable (Bool) -> Void = { _ in }) throws(WebConfigError) {
        self.path = path
        self.logger = logger
        self.onResult = onResult
        let (state, files) = try Self.load(path)
        self.current = Mutex((state, files, files.map(FileFingerprint.init(path:))))
    }

    var state: WebSecurityState { self.current.withLock { $0.state } }

    /// Re-reads everything; new connections use the result, open ones keep theirs.
    public func reload(reason: String) {
        do {
            var (state, files) = try Self.load(self.path)
            let fingerprint = files.map(FileFingerprint.init(path:))
            self.current.withLock { current in
                if state.users == current.state.users { state.auth = current.state.auth }
                current = (state, files, fingerprint)
            }
            self.onResult(true)
            self.logger.info("web config reloaded", metadata: ["file": "\(self.path)", "reason": "\(reason)"])
        } catch {
            // Not retried until the files change again: one line per bad version, not one per check.
            let files = Self.files(of: self.path)
            let fingerprint = files.map(FileFingerprint.init(path:))
            self.current.withLock { ($0.files, $0.fingerprint) = (files, fingerprint) }
            self.onResult(false)
            self.logger.error(
                "web config reload refused; keeping the last good one", metadata: ["error": "\(error)", "reason": "\(reason)"])
        }
    }

    /// Whether the web configuration or a file it names differs from what was last loaded: a
    /// `stat` of each, no parsing (an edit of the configuration changes its own fingerprint).
    public func filesChanged() -> Bool {
        let (files, known) = self.current.withLock { ($0.files, $0.fingerprint) }
        return files.map(FileFingerprint.init(path:)) != known
    }

    /// The web configuration file and the files a refused version names (as far as it parses).
    private static func files(of path: String) -> [String] {
        guard let text = try? TextFile.read(path), let config = try? WebConfigParser.parse(text, file: path),
            let tls = config.tls
        else { return [path] }
        return [path, tls.certFile, tls.keyFile] + (tls.clientCAFile.map { [$0] } ?? [])
    }

    static func load(_ path: String) throws(WebConfigError) -> (WebSecurityState, [String]) {
        let text: String
        do {
            text = try TextFile.read(path)
        } catch {
            throw WebConfigError(file: path, message: Self.unreadable(path))
        }
        let config: WebConfig
        do {
            config = try WebConfigParser.parse(text, file: path)
        } catch {
            let line = error.line.map { " (line \($0))" } ?? ""
            throw WebConfigError(file: path, key: error.key, message: (error.value.map { "'\($0)': " } ?? "") + error.message + line)
        }
        var state = WebSecurityState(tls: nil, clientAuth: .noClientCert, auth: nil)
        var files = [path]
        if let tls = config.tls {
            state.tls = try Self.context(tls, file: path)
            state.clientAuth = tls.clientAuth
            files += [tls.certFile, tls.keyFile] + (tls.clientCAFile.map { [$0] } ?? [])
        }
        if !config.basicAuthUsers.isEmpty {
            state.users = config.basicAuthUsers
            state.auth = BasicAuthGate(
                users: config.basicAuthUsers, verify: { Bcrypt.verify($0, hash: $1) },
                offload: { work in (try? await NIOThreadPool.singleton.runIfActive { work() }) ?? false })
        }
        return (state, files)
    }

    private static func unreadable(_ file: String) -> String {
        FileManager.default.fileExists(atPath: file) ? "\(file): cannot be read" : "\(file): no such file"
    }

    private static func context(_ tls: WebConfig.TLS, file: String) throws(WebConfigError) -> NIOSSLContext {
        func read<T>(_ key: String, _ path: String, _ body: () throws -> T) throws(WebConfigError) -> T {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw WebConfigError(file: file, key: "tls_server_config.\(key)", message: Self.unreadable(path))
            }
            do {
                return try body()
            } catch {
                throw WebConfigError(file: file, key: "tls_server_config.\(key)", message: "\(path): not usable PEM (\(error))")
            }
        }
        let chain = try read("cert_file", tls.certFile) { try NIOSSLCertificate.fromPEMFile(tls.certFile) }
        guard !chain.isEmpty else {
            throw WebConfigError(file: file, key: "tls_server_config.cert_file", message: "\(tls.certFile): holds no certificate")
        }
        let key = try read("key_file", tls.keyFile) { try NIOSSLPrivateKey(file: tls.keyFile, format: .pem) }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = tls.minVersion == .tls13 ? .tlsv13 : .tlsv12
        configuration.maximumTLSVersion = tls.maxVersion == .tls13 ? .tlsv13 : .tlsv12
        if let ca = tls.clientCAFile {
            let roots = try read("client_ca_file", ca) { try NIOSSLCertificate.fromPEMFile(ca) }
            configuration.trustRoots = .certificates(roots)
            configuration.sendCANameList = true
        }
        switch tls.clientAuth {
        case .noClientCert: configuration.certificateVerification = .none
        case .requestClientCert, .verifyClientCertIfGiven: configuration.certificateVerification = .optionalVerification
        case .requireAnyClientCert, .requireAndVerifyClientCert: configuration.certificateVerification = .noHostnameVerification
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw WebConfigError(
                file: file, key: "tls_server_config.key_file", message: "\(tls.keyFile): does not go with cert_file (\(error))")
        }
    }
}

/// Identity and version of a file as `stat(2)` sees it through symlinks: cert-manager and the
/// kubelet swap a Secret volume's `..data` symlink, which changes the inode the path resolves to.
struct FileFingerprint: Sendable, Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Int64

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.device = UInt64(info.st_dev)
        self.inode = UInt64(info.st_ino)
        self.size = Int64(info.st_size)
        self.modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }
}
