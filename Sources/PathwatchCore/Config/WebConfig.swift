/// The exporter-toolkit web configuration (`--web-config`, `http.webConfig`), read unchanged so
/// operators reuse the files their node_exporter already has: TLS and basic-auth users.
///
/// Pure: files named here are read by the agent, which reports a missing one with the same key.
public struct WebConfig: Sendable, Equatable {
    public var tls: TLS?
    /// User name → bcrypt hash (`$2a$`, `$2b$` or `$2y$`).
    public var basicAuthUsers: [String: String] = [:]

    public init(tls: TLS? = nil, basicAuthUsers: [String: String] = [:]) {
        self.tls = tls
        self.basicAuthUsers = basicAuthUsers
    }

    public struct TLS: Sendable, Equatable {
        public var certFile: String
        public var keyFile: String
        public var clientAuth = ClientAuth.noClientCert
        public var clientCAFile: String?
        public var minVersion = TLSVersion.tls12
        public var maxVersion = TLSVersion.tls13

        public init(certFile: String, keyFile: String) {
            self.certFile = certFile
            self.keyFile = keyFile
        }
    }

    /// Go's `tls.ClientAuthType` names, as exporter-toolkit spells them.
    public enum ClientAuth: String, Sendable, CaseIterable {
        case noClientCert = "NoClientCert"
        case requestClientCert = "RequestClientCert"
        case requireAnyClientCert = "RequireAnyClientCert"
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

        /// Whether presented certificates are checked against `client_ca_file`.
        public var verifies: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    }

    /// TLS 1.0 and 1.1 are refused (RFC 8996 deprecates them); exporter-toolkit's default is TLS12.
    public enum TLSVersion: String, Sendable, CaseIterable, Comparable {
        case tls12 = "TLS12"
        case tls13 = "TLS13"

        public static func < (a: TLSVersion, b: TLSVersion) -> Bool { a == .tls12 && b == .tls13 }
    }

    /// The highest bcrypt cost accepted: one verification at cost 12 takes about 0.25 s of a core;
    /// each step up doubles it, so a higher cost would let wrong passwords cost the node far more.
    public static let maxBcryptCost = 12
    /// bcrypt's own lower bound.
    public static let minBcryptCost = 4

    /// The cost of a well-formed bcrypt hash (`$2b$10$` + 22 salt + 31 hash characters), or nil.
    public static func bcryptCost(_ hash: String) -> Int? {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, bytes[0] == UInt8(ascii: "$"), bytes[1] == UInt8(ascii: "2"),
            [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2]), bytes[3] == UInt8(ascii: "$"),
            bytes[6] == UInt8(ascii: "$"), let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self))
        else { return nil }
        let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        guard bytes[7...].allSatisfy(alphabet.contains) else { return nil }
        return cost
    }
}

/// Strict reader of the web configuration: an unknown key is an error naming it, as in
/// exporter-toolkit; keys exporter-toolkit knows that pathwatch does not implement are refused
/// by name rather than ignored, so a file never means less than it says.
public enum WebConfigParser {
    /// exporter-toolkit keys refused, with why (docs/http.md).
    static let unsupported: [String: String] = [
        "tls_server_config.cipher_suites":
            "not supported: pathwatch uses BoringSSL's default suites (ECDHE with AES-GCM or ChaCha20-Poly1305)",
        "tls_server_config.curve_preferences": "not supported: pathwatch uses BoringSSL's default curves (X25519, P-256, P-384)",
        "tls_server_config.client_allowed_sans": "not supported: any client certificate the CA signed is accepted",
        "tls_server_config.cert": "not supported: give the certificate as cert_file",
        "tls_server_config.key": "not supported: give the key as key_file",
        "tls_server_config.client_ca": "not supported: give the CA as client_ca_file",
        "http_server_config": "not supported: pathwatch serves HTTP/1.1 only and sets no extra headers",
        "rate_limit": "not supported: pathwatch has its own connection limits (http.maxConnections)",
    ]

    public static func parse(_ text: String, file: String) throws(ConfigError) -> WebConfig {
        let root: YAMLNode?
        do {
            root = try YAMLTree.compose(text)
        } catch {
            throw ConfigError(file: file, line: error.mark?.line, column: error.mark?.column, message: "not valid YAML: \(error.problem)")
        }
        var config = WebConfig()
        guard let root else { return config }
        let reader = Reader(file: file)
        for (key, value) in try reader.mapping(root, "") {
            switch key.name {
            case "tls_server_config": config.tls = try tls(value, reader)
            case "basic_auth_users": config.basicAuthUsers = try users(value, reader)
            default: throw refusal(key, key.name, reader)
            }
        }
        return config
    }

    static func refusal(_ key: Reader.Key, _ path: String, _ reader: Reader) -> ConfigError {
        reader.error(key.node, path, nil, unsupported[path] ?? "unknown key (the exporter-toolkit keys pathwatch reads: docs/http.md)")
    }

    static func tls(_ node: YAMLNode, _ reader: Reader) throws(ConfigError) -> WebConfig.TLS? {
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "null" { return nil }
        var certFile: String?
        var keyFile: String?
        var clientAuth: WebConfig.ClientAuth?
        var clientCA: (String, YAMLNode)?
        var minVersion: WebConfig.TLSVersion?
        var maxVersion: WebConfig.TLSVersion?
        for (sub, v) in try reader.mapping(node, "tls_server_config") {
            let path = "tls_server_config.\(sub.name)"
            switch sub.name {
            case "cert_file": certFile = try reader.string(v, path)
            case "key_file": keyFile = try reader.string(v, path)
            case "client_auth_type": clientAuth = try reader.choice(v, path, WebConfig.ClientAuth.self)
            case "client_ca_file": clientCA = (try reader.string(v, path), v)
            case "min_version": minVersion = try version(v, path, reader)
            case "max_version": maxVersion = try version(v, path, reader)
            // Go ignores it since 1.18 (the server's order always wins); exporter-toolkit keeps it for old files.
            case "prefer_server_cipher_suites": _ = try reader.bool(v, path)
            default: throw refusal(sub, path, reader)
            }
        }
        guard let certFile, !certFile.isEmpty else {
            throw reader.error(node, "tls_server_config.cert_file", nil, "required with tls_server_config")
        }
        guard let keyFile, !keyFile.isEmpty else {
            throw reader.error(node, "tls_server_config.key_file", nil, "required with tls_server_config")
        }
        var tls = WebConfig.TLS(certFile: certFile, keyFile: keyFile)
        tls.clientAuth = clientAuth ?? .noClientCert
        tls.minVersion = minVersion ?? .tls12
        tls.maxVersion = maxVersion ?? .tls13
        if tls.maxVersion < tls.minVersion {
            throw reader.error(node, "tls_server_config.max_version", tls.maxVersion.rawValue, "lower than min_version")
        }
        if let (ca, caNode) = clientCA, !ca.isEmpty {
            guard tls.clientAuth.verifies else {
                throw reader.error(
                    caNode, "tls_server_config.client_ca_file", ca,
                    "needs client_auth_type VerifyClientCertIfGiven or RequireAndVerifyClientCert (it is \(tls.clientAuth.rawValue))")
            }
            tls.clientCAFile = ca
        } else if tls.clientAuth.verifies {
            throw reader.error(node, "tls_server_config.client_ca_file", nil, "required with client_auth_type \(tls.clientAuth.rawValue)")
        }
        return tls
    }

    static func version(_ node: YAMLNode, _ path: String, _ reader: Reader) throws(ConfigError) -> WebConfig.TLSVersion {
        let text = try reader.string(node, path)
        if text == "TLS10" || text == "TLS11" {
            throw reader.error(node, path, text, "TLS 1.0 and 1.1 are not offered (RFC 8996); use TLS12 or TLS13")
        }
        return try reader.choice(node, path, WebConfig.TLSVersion.self)
    }

    static func users(_ node: YAMLNode, _ reader: Reader) throws(ConfigError) -> [String: String] {
        if case .scalar(let scalar) = node, scalar.string.isEmpty || scalar.string == "null" { return [:] }
        var users: [String: String] = [:]
        for (user, v) in try reader.mapping(node, "basic_auth_users") {
            let path = "basic_auth_users.\(user.name)"
            guard !user.name.isEmpty, !user.name.contains(":") else {
                throw reader.error(user.node, path, nil, "a user name must be non-empty and without ':' (basic auth splits at it)")
            }
            let hash = try reader.string(v, path)
            guard let cost = WebConfig.bcryptCost(hash) else {
                throw reader.error(v, path, nil, "not a bcrypt hash ($2a$, $2b$ or $2y$, e.g. from htpasswd -nBC 10 USER)")
            }
            guard (WebConfig.minBcryptCost...WebConfig.maxBcryptCost).contains(cost) else {
                throw reader.error(
                    v, path, nil,
                    "bcrypt cost \(cost) is outside \(WebConfig.minBcryptCost)...\(WebConfig.maxBcryptCost): a higher cost lets each wrong password cost the node more CPU"
                )
            }
            users[user.name] = hash
        }
        return users
    }
}
