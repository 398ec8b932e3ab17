import Foundation
import Testing

@Suite("systemd unit")
struct SystemdUnitTests {
    static let unit = "packaging/systemd/pathwatch.service"

    /// `key=value` settings of the unit (a key given twice keeps both values, in order).
    static func settings(_ text: String) -> [String: [String]] {
        var settings: [String: [String]] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix("[") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            settings[String(line[..<equals]), default: []].append(String(line[line.index(after: equals)...]))
        }
        return settings
    }

    /// `systemd-analyze verify` prints nothing for the unit. It exits 0 even on ignored settings,
    /// so any output fails. ExecStart points at the test build's binary (the unit names
    /// /usr/bin/pathwatch, which is not installed here); the man page is found through MANPATH.
    static func verify(unitText: String, binary: String, manDirectory: URL) throws -> String {
        try Tool.require("systemd-analyze")
        try Tool.require("man")
        return try Tool.withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("pathwatch.service")
            try unitText.replacingOccurrences(of: "ExecStart=/usr/bin/pathwatch ", with: "ExecStart=\(binary) ")
                .write(to: file, atomically: true, encoding: .utf8)
            return try Tool.run(["systemd-analyze", "verify", file.path], environment: ["MANPATH": manDirectory.path]).output
        }
    }

    /// `verify` of `unitText` with packaging/man/pathwatch.1 on MANPATH.
    static func verifyWithManPage(_ unitText: String) throws -> String {
        try Tool.withTemporaryDirectory { man in
            try FileManager.default.createDirectory(at: man.appendingPathComponent("man1"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: Tool.path("packaging/man/pathwatch.1"), to: man.appendingPathComponent("man1/pathwatch.1"))
            return try verify(unitText: unitText, binary: Tool.binary, manDirectory: man)
        }
    }

    @Test func verifyIsClean() throws {
        let output = try Self.verifyWithManPage(try Tool.read(Self.unit))
        #expect(output.isEmpty, "\(output)")
    }

    /// The check above can fail: a misspelt value is reported.
    @Test func verifyReportsABadSetting() throws {
        let output = try Self.verifyWithManPage(
            try Tool.read(Self.unit).replacingOccurrences(of: "ProtectHome=yes", with: "ProtectHome=sometimes"))
        #expect(output.contains("protect home"), "\(output)")
    }

    @Test func runsTheAgentWithNetAdminOnlyAndHardening() throws {
        let settings = Self.settings(try Tool.read(Self.unit))
        func value(_ key: String) -> String? { settings[key]?.last }
        #expect(value("ExecStart") == "/usr/bin/pathwatch run --config /etc/pathwatch/config.yaml")
        #expect(value("ExecReload") == "/bin/kill -HUP $MAINPID")
        #expect(value("Type") == "simple")
        #expect(value("Restart") == "on-failure")
        #expect(value("CapabilityBoundingSet") == "CAP_NET_ADMIN")
        #expect(value("AmbientCapabilities") == "CAP_NET_ADMIN")
        #expect(value("RestrictAddressFamilies") == "AF_NETLINK AF_UNIX AF_INET AF_INET6")
        #expect(value("RuntimeDirectory") == "pathwatch")
        for key in ["NoNewPrivileges", "ProtectHome", "PrivateTmp", "ProtectKernelModules", "ProtectControlGroups"] {
            #expect(value(key) == "yes", "\(key)")
        }
        #expect(value("ProtectSystem") == "strict")
        // The agent must see the host's network namespace.
        #expect(value("PrivateNetwork") == nil)
        #expect(value("WantedBy") == "multi-user.target")
    }
}
