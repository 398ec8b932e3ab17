import Testing

@testable import PathwatchCore

@Suite("Web config parser (exporter-toolkit format)")
struct WebConfigParserTests {
    /// A well-formed cost-10 bcrypt hash (which password it matches does not matter here).
    static let hash10 = "$2y$10$L6Pu4K0B2nVcLqE3ZT5V0OXyq4TwqLnYhRzcYbfRSVvSKpIcqpNGu"

    func parse(_ text: String) throws(ConfigError) -> WebConfig { try WebConfigParser.parse(text, file: "web.yml") }

    func refusal(_ text: String) -> ConfigError? {
        do {
            _ = try parse(text)
            return nil
        } catch { return error }
    }

    @Test func everyKeyParses() throws {
        let config = try parse(
            """
            tls_server_config:
              cert_file: /etc/tls/tls.crt
              key_file: /etc/tls/tls.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: /etc/tls/ca.crt
              min_version: TLS13
              max_version: TLS13
              prefer_server_cipher_suites: true
            basic_auth_users:
              prometheus: \(Self.hash10)
            """)
        var tls = WebConfig.TLS(certFile: "/etc/tls/tls.crt", keyFile: "/etc/tls/tls.key")
        tls.clientAuth = .requireAndVerifyClientCert
        tls.clientCAFile = "/etc/tls/ca.crt"
        tls.minVersion = .tls13
        tls.maxVersion = .tls13
        #expect(config == WebConfig(tls: tls, basicAuthUsers: ["prometheus": Self.hash10]))
    }

    @Test func defaultsAreExporterToolkits() throws {
        let config = try parse("tls_server_config:\n  cert_file: a\n  key_file: b\n")
        #expect(config.tls?.clientAuth == .noClientCert)
        #expect(config.tls?.minVersion == .tls12)
        #expect(config.tls?.maxVersion == .tls13)
        #expect(config.basicAuthUsers.isEmpty)
        #expect(try parse("") == WebConfig())
        #expect(try parse("tls_server_config:\nbasic_auth_users:\n") == WebConfig())
    }

    @Test func everyClientAuthTypeIsRead() throws {
        for mode in WebConfig.ClientAuth.allCases {
            let ca = mode.verifies ? "\n  client_ca_file: ca.pem" : ""
            let config = try parse("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: \(mode.rawValue)\(ca)\n")
            #expect(config.tls?.clientAuth == mode)
        }
    }

    @Test func unknownKeysAreRefusedByName() {
        #expect(refusal("tls_server_confg:\n  cert_file: a\n")?.key == "tls_server_confg")
        let nested = refusal("tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n")
        #expect(nested?.key == "tls_server_config.certfile")
        #expect(nested?.line == 4)
        #expect(nested?.message.contains("unknown key") == true)
    }

    @Test func knownButUnsupportedKeysSayWhy() {
        let suites = refusal("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n")
        #expect(suites?.key == "tls_server_config.cipher_suites")
        #expect(suites?.message.contains("not supported") == true)
        #expect(refusal("tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [X25519]\n") != nil)
        #expect(refusal("http_server_config:\n  headers:\n    X-Frame-Options: deny\n")?.key == "http_server_config")
    }

    @Test func tlsNeedsBothFilesAndMatchingCAAndAuth() {
        #expect(refusal("tls_server_config:\n  cert_file: a\n")?.key == "tls_server_config.key_file")
        #expect(refusal("tls_server_config:\n  key_file: a\n")?.key == "tls_server_config.cert_file")
        let noCA = refusal("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: VerifyClientCertIfGiven\n")
        #expect(noCA?.key == "tls_server_config.client_ca_file")
        let caWithoutAuth = refusal("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca.pem\n")
        #expect(caWithoutAuth?.key == "tls_server_config.client_ca_file")
        #expect(refusal("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Always\n")?.value == "Always")
    }

    @Test func versionsAreBounded() {
        #expect(refusal("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS11\n")?.message.contains("RFC 8996") == true)
        #expect(
            refusal("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n")?.key == "tls_server_config.min_version")
        let inverted = refusal("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n")
        #expect(inverted?.key == "tls_server_config.max_version")
    }

    @Test func usersNeedBcryptHashesOfBoundedCost() {
        #expect(refusal("basic_auth_users:\n  alice: secret\n")?.key == "basic_auth_users.alice")
        #expect(refusal("basic_auth_users:\n  alice: \"$1$abc$def\"\n")?.message.contains("not a bcrypt hash") == true)
        let costly = Self.hash10.replacingOccurrences(of: "$10$", with: "$13$")
        let refused = refusal("basic_auth_users:\n  alice: \(costly)\n")
        #expect(refused?.message.contains("bcrypt cost 13") == true)
        #expect(refused?.value == nil)  // a hash is never echoed
        #expect(refusal("basic_auth_users:\n  alice: \(Self.hash10.replacingOccurrences(of: "$10$", with: "$03$"))\n") != nil)
        #expect(refusal("basic_auth_users:\n  \"a:b\": \(Self.hash10)\n")?.message.contains("':'") == true)
        #expect(refusal("basic_auth_users:\n  alice: \(Self.hash10)\n  alice: \(Self.hash10)\n") != nil)
    }

    @Test func bcryptCostIsReadFromTheHash() {
        #expect(WebConfig.bcryptCost(Self.hash10) == 10)
        #expect(WebConfig.bcryptCost(Self.hash10.replacingOccurrences(of: "$2y$", with: "$2b$")) == 10)
        #expect(WebConfig.bcryptCost(Self.hash10.replacingOccurrences(of: "$2y$", with: "$2x$")) == nil)
        #expect(WebConfig.bcryptCost(String(Self.hash10.dropLast())) == nil)
        #expect(WebConfig.bcryptCost(String(Self.hash10.dropLast()) + "!") == nil)
    }

    @Test func theAgentConfigNamesTheFile() throws {
        let config = try ConfigParser.parse("http:\n  webConfig: /etc/pathwatch/web.yml\n", file: "c.yml")
        #expect(config.http.webConfig == "/etc/pathwatch/web.yml")
        #expect(throws: ConfigError.self) { try ConfigParser.parse("http:\n  webConfig: \"\"\n", file: "c.yml") }
    }
}
