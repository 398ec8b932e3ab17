import Foundation
import Testing

/// Start-up, readiness, signals and refusals of the real binary.
@Suite("Agent lifecycle", .serialized, .enabled(if: Namespace.isRoot, "needs root: runs the agent in a network namespace"))
struct AgentLifecycleTests {
    @Test func servesHealthReadinessFindingsAndStopsCleanlyOnSIGTERM() throws {
        try withNamespace("life") { ns in
            let agent = try AgentProcess(in: ns)
            try agent.waitUntilReady()
            #expect(try agent.get("/healthz").status == 200)
            #expect(try agent.get("/findings").body == #"{"findings":[]}"#)
            let metrics = try agent.metrics()
            #expect(metrics.value("pathwatch_ready") == 1)
            #expect(metrics.value("pathwatch_autofix_mode", ["mode": "off"]) == 1)
            #expect(metrics.value("pathwatch_autofix_mode", ["mode": "on"]) == 0)
            #expect(metrics.series.keys.contains { $0.hasPrefix("pathwatch_build_info{") })
            #expect(try agent.get("/nothing-here").status == 404)
            // Each watcher thread carries its name for `top -H` (the kernel's comm).
            let tasks = "/proc/\(agent.process.processIdentifier)/task"
            let names = Set(
                try FileManager.default.contentsOfDirectory(atPath: tasks).compactMap {
                    try? String(contentsOfFile: "\(tasks)/\($0)/comm", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                })
            #expect(
                names.isSuperset(of: [
                    "pw-rtnetlink", "pw-neighbours", "pw-conntrack", "pw-self-sourced", "pw-paths", "pw-subnet-route", "pw-control",
                ]),
                "\(names.sorted())")
            #expect(agent.stop() == 0, "SIGTERM is a clean stop; log:\n\(agent.log)")
            #expect(agent.log.contains("pathwatch stopped"))
        }
    }

    /// Once ready, the agent hands its executable's read-only pages back to the kernel: its
    /// resident memory drops, and everything still works, the code coming back as it runs.
    @Test func startupPagesAreReleasedAndTheAgentKeepsWorking() throws {
        try withNamespace("pages") { ns in
            let agent = try AgentProcess(in: ns, config: "releaseStartupPagesAfterSeconds: 0.5\n")
            try agent.waitUntilReady()
            #expect(eventually(within: 10) { agent.log.contains("start-up pages released") }, "log:\n\(agent.log)")
            let line = try #require(agent.log.split(separator: "\n").first { $0.contains("start-up pages released") })
            func kib(_ key: String) -> Int? {
                guard let range = line.range(of: "\"\(key)\":\"") else { return nil }
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            }
            let before = try #require(kib("resident_kib_before"), "\(line)")
            let after = try #require(kib("resident_kib_after"), "\(line)")
            #expect(after < before - 1024, "at least a MiB of start-up pages leaves: \(line)")
            #expect((kib("read_only_bytes") ?? 0) > 1 << 20)
            #expect(try agent.get("/healthz").status == 200)
            #expect(try agent.metrics().value("pathwatch_ready") == 1)
            #expect(try agent.get("/findings").status == 200)
            #expect(agent.stop() == 0, "a clean stop after the release; log:\n\(agent.log)")
        }
        try withNamespace("nopages") { ns in
            let agent = try AgentProcess(in: ns, config: "releaseStartupPagesAfterSeconds: 0\n")
            try agent.waitUntilReady()
            Thread.sleep(forTimeInterval: 1)
            #expect(!agent.log.contains("start-up pages"), "0 turns it off")
        }
    }

    @Test func logsAreJSONLines() throws {
        try withNamespace("json") { ns in
            let agent = try AgentProcess(in: ns)
            try agent.waitUntilReady()
            agent.stop()
            let lines = agent.log.split(separator: "\n")
            #expect(!lines.isEmpty)
            for line in lines {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object?["msg"] != nil && object?["level"] != nil && object?["ts"] != nil, "not a JSON log line: \(line)")
            }
        }
    }

    @Test func sighupReloadsAndKeepsTheLastGoodConfig() throws {
        try withNamespace("hup") { ns in
            let agent = try AgentProcess(in: ns, config: "autofix: off\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            try "autofix: dry-run\n".write(to: agent.configFile, atomically: true, encoding: .utf8)
            agent.signal(SIGHUP)
            #expect(try eventually(within: 2) { try agent.metrics().value("pathwatch_autofix_mode", ["mode": "dry-run"]) == 1 })
            #expect(try agent.metrics().value("pathwatch_config_reloads_total", ["result": "success"]) == 1)

            try "autofix: [broken\n".write(to: agent.configFile, atomically: true, encoding: .utf8)
            agent.signal(SIGHUP)
            #expect(try eventually(within: 2) { try agent.metrics().value("pathwatch_config_reloads_total", ["result": "failure"]) == 1 })
            #expect(try agent.metrics().value("pathwatch_autofix_mode", ["mode": "dry-run"]) == 1, "the last good mode stays")
            #expect(agent.log.contains("keeping the last good configuration"))
            #expect(try agent.get("/healthz").status == 200)
        }
    }

    @Test func flagsOverrideTheFile() throws {
        try withNamespace("flags") { ns in
            let agent = try AgentProcess(in: ns, config: "autofix: on\n", arguments: ["--autofix", "dry-run"])
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try agent.metrics().value("pathwatch_autofix_mode", ["mode": "dry-run"]) == 1)
        }
    }

    @Test func aBadConfigIsRefusedWithExitStatus2AndTouchesNothing() throws {
        try withNamespace("badcfg") { ns in
            let agent = try AgentProcess(in: ns, config: "listen: \"127.0.0.1:1\"\nautofx: on\n")
            agent.process.waitUntilExit()
            #expect(agent.process.terminationStatus == 2)
            #expect(agent.log.contains("config.yaml:2"), "names the line: \(agent.log)")
            #expect(agent.log.contains("autofx"), "names the key: \(agent.log)")
            // Nothing was installed in the namespace: no nft tables, no extra routes.
            #expect(try ns.exec(["nft", "list", "ruleset"]).isEmpty)
        }
    }

    @Test func aBadWebConfigIsRefusedWithExitStatus2NamingTheKey() throws {
        let file = "/tmp/pathwatch-web-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).yml"
        try "tls_server_config:\n  cert_file: /nonexistent/tls.crt\n  key_file: /nonexistent/tls.key\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        try withNamespace("badweb") { ns in
            let agent = try AgentProcess(in: ns, arguments: ["--web-config", file])
            agent.process.waitUntilExit()
            #expect(agent.process.terminationStatus == 2)
            #expect(
                agent.log.contains("web config \(file): tls_server_config.cert_file: /nonexistent/tls.crt: no such file"),
                "names the key: \(agent.log)")
            #expect(try ns.exec(["nft", "list", "ruleset"]).isEmpty)
        }
    }

    /// The web config through the real binary: TLS only, passwords on every path, the series it
    /// adds, and SIGHUP re-reading it (a broken certificate then keeps the last good one).
    @Test func aWebConfigServesHTTPSWithPasswordsAndReloadsOnSIGHUP() throws {
        let directory = try KubernetesReportingNamespaceTests.files(port: 1)  // CA, a certificate for 127.0.0.1
        defer { try? FileManager.default.removeItem(at: directory) }
        let d = directory.path
        // bcrypt of change-me-prometheus (packaging/kubernetes-overlays/tls/web-config.yaml).
        let hash = "$2b$10$l7wSwQt9fUwRJ5hQOpnQKuQBHjrDLKojuiuXZf.dT7E02T06diYim"
        try "tls_server_config:\n  cert_file: \(d)/server.crt\n  key_file: \(d)/server.key\nbasic_auth_users:\n  prometheus: \"\(hash)\"\n"
            .write(toFile: "\(d)/web.yml", atomically: true, encoding: .utf8)
        try withNamespace("web") { ns in
            let agent = try AgentProcess(in: ns, config: "http:\n  webConfig: \(d)/web.yml\n")
            defer { agent.stop() }
            func status(_ path: String, _ credentials: [String] = ["-u", "prometheus:change-me-prometheus"]) throws -> String {
                try ns.exec(
                    ["curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", "\(d)/ca.crt"] + credentials
                        + ["https://127.0.0.1:\(agent.port)\(path)"], check: false)
            }
            #expect(eventually(within: 15, every: 0.1) { (try? status("/readyz")) == "200" }, "log:\n\(agent.log)")
            #expect(try agent.get("/healthz").status != 200, "plain HTTP is refused")
            #expect(try status("/metrics", []) == "401")
            // Within 3× the last verification's time another one is refused at once (429).
            #expect(eventually(within: 5, every: 0.2) { (try? status("/metrics", ["-u", "prometheus:wrong"])) == "401" })
            let page = try ns.exec(
                [
                    "curl", "-s", "-m", "5", "--cacert", "\(d)/ca.crt", "-u", "prometheus:change-me-prometheus",
                    "https://127.0.0.1:\(agent.port)/metrics",
                ])
            let metrics = Metrics(text: page)
            #expect(metrics.value("pathwatch_http_rejections_total", ["reason": "unauthorized"]) == 2)
            #expect((metrics.value("pathwatch_http_rejections_total", ["reason": "tls"]) ?? 0) >= 1)
            #expect(metrics.value("pathwatch_http_web_config_reloads_total", ["result": "success"]) == 0)

            try "not a certificate\n".write(toFile: "\(d)/server.crt", atomically: true, encoding: .utf8)
            agent.signal(SIGHUP)
            #expect(eventually(within: 5) { agent.log.contains("web config reload refused") }, "log:\n\(agent.log)")
            #expect(try status("/healthz") == "200", "the last good certificate stays")
            let after = try ns.exec(
                [
                    "curl", "-s", "-m", "5", "--cacert", "\(d)/ca.crt", "-u", "prometheus:change-me-prometheus",
                    "https://127.0.0.1:\(agent.port)/metrics",
                ])
            #expect(Metrics(text: after).value("pathwatch_http_web_config_reloads_total", ["result": "failure"]) == 1)
        }
    }

    @Test func withoutCapNetAdminItSaysWhichCapabilityIsMissing() throws {
        guard Shell.exists("setpriv") else {
            Issue.record("setpriv (util-linux) is needed for this test")
            return
        }
        try withNamespace("nocap") { ns in
            let output = try ns.exec(
                [
                    "setpriv", "--bounding-set", "-net_admin", "--inh-caps", "-net_admin", AgentProcess.binary, "run", "--listen",
                    "127.0.0.1:0",
                ],
                check: false)
            #expect(output.contains("CAP_NET_ADMIN"), "output: \(output)")
            #expect(output.split(separator: "\n").count == 1, "one sentence: \(output)")
        }
    }

    @Test func aListenAddressInUseIsAClearError() throws {
        try withNamespace("busy") { ns in
            let first = try AgentProcess(in: ns)
            defer { first.stop() }
            try first.waitUntilReady()
            let output = try ns.exec([AgentProcess.binary, "run", "--listen", "127.0.0.1:\(first.port)"], check: false)
            #expect(output.contains("127.0.0.1:\(first.port)"), "names the address: \(output)")
        }
    }
}
