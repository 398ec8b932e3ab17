import Foundation
import Testing

/// Discovery from a fake EC2 instance metadata service living in its own namespace at
/// 169.254.169.254, reached from the agent's namespace over a veth with a link-local /16.
@Suite(
    "Metadata discovery", .serialized,
    .enabled(if: Namespace.isRoot && Shell.exists("python3"), "needs root (namespaces) and python3 (the fake metadata service)"))
struct MetadataDiscoveryTests {
    /// A fake IMDSv2: the token flow, answers from a JSON map of path → body, 404 otherwise.
    /// `slow` sleeps past any timeout before answering; `garbage` answers every GET with junk.
    static let server = """
        import http.server, json, sys, time
        mode, data_file = sys.argv[1], sys.argv[2]
        data = json.load(open(data_file))
        TOKEN = "pwtest-token-1"
        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args): pass
            def answer(self, status, body):
                if mode == "slow": time.sleep(5)
                b = body.encode("latin-1")
                self.send_response(status)
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)
            def do_PUT(self):
                ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds") == "21600"
                self.answer(200 if ok else 400, TOKEN if ok else "")
            def do_GET(self):
                if self.headers.get("X-aws-ec2-metadata-token") != TOKEN: return self.answer(401, "")
                if mode == "garbage": return self.answer(200, "<html>\\x01\\xff not metadata</html>")
                if self.path in data: return self.answer(200, data[self.path])
                self.answer(404, "")
        http.server.ThreadingHTTPServer(("169.254.169.254", 80), H).serve_forever()
        """

    /// The subnet lab plus a metadata namespace wired to inst1, and the metadata inst1's
    /// interfaces would have in a VPC of 10.0.0.0/8: net0 primary on 10.4.1.0/24, net1 on
    /// 10.4.2.0/24.
    struct Lab {
        let subnets: SubnetLab
        let imds: Namespace
        let directory: URL

        init(_ nss: [Namespace]) throws {
            subnets = try SubnetLab(Array(nss[0..<3]))
            imds = nss[3]
            try subnets.inst1.connect("md0", to: imds, "md1", localAddress: "169.254.0.2/16", remoteAddress: "169.254.169.254/16")
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("pathwatch-test-\(imds.name)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let mac0 = try Self.mac(subnets.inst1, "net0")
            let mac1 = try Self.mac(subnets.inst1, "net1")
            let base = "/latest/meta-data/network/interfaces/macs/"
            let data: [String: String] = [
                base: "\(mac0)/\n\(mac1)/\n",
                base + mac0 + "/subnet-ipv4-cidr-block": "10.4.1.0/24",
                base + mac0 + "/vpc-ipv4-cidr-blocks": "10.0.0.0/8",
                base + mac0 + "/device-number": "0",
                base + mac1 + "/subnet-ipv4-cidr-block": "10.4.2.0/24",
                base + mac1 + "/vpc-ipv4-cidr-blocks": "10.0.0.0/8\n",
                base + mac1 + "/device-number": "1",
            ]
            try JSONSerialization.data(withJSONObject: data).write(to: directory.appendingPathComponent("data.json"))
            try Data(MetadataDiscoveryTests.server.utf8).write(to: directory.appendingPathComponent("imds.py"))
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }

        static func mac(_ ns: Namespace, _ name: String) throws -> String {
            let json = try ns.exec(["ip", "-j", "link", "show", name])
            let links = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]
            return try #require(links?.first?["address"] as? String)
        }

        /// Starts the fake service in its namespace; the caller stops it (by PID).
        func startServer(_ mode: String) throws -> BackgroundProcess {
            let server = try BackgroundProcess(
                ["python3", directory.appendingPathComponent("imds.py").path, mode, directory.appendingPathComponent("data.json").path],
                in: imds, name: "imds")
            let listening = try eventually(within: 5) { try imds.exec(["ss", "-ltnH", "sport", "= :80"]).contains("169.254.169.254") }
            if !listening { throw Shell.Failure(command: ["imds.py", mode], status: -1, output: server.output) }
            return server
        }
    }

    static func config(timeout: Double = 1) -> String {
        """
        autofix: on
        conntrack:
          enabled: false
        repair:
          strategy: policy-routing
          policyTableBase: 20000
        discovery:
          metadata: true
          endpoint: "http://169.254.169.254"
          timeoutSeconds: \(timeout)
          refreshSeconds: 300
        """
    }

    static func withLab(_ body: (Lab) throws -> Void) throws {
        try withNamespaces(["router", "inst1", "inst2", "imds"]) { nss in
            let lab = try Lab(nss)
            defer { lab.remove() }
            try body(lab)
        }
    }

    @Test func normalAnswersInstallThePolicyRouteForTheSecondaryInterface() throws {
        try Self.withLab { lab in
            let inst1 = lab.subnets.inst1
            let server = try lab.startServer("normal")
            defer { server.stop() }
            #expect(!SubnetLab.ping(from: inst1, source: "10.4.2.10", to: "10.5.2.10"), "the incident: net1 cannot reach the peer")
            let agent = try AgentProcess(in: inst1, config: Self.config())
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(
                try eventually(within: 5) {
                    let rules = try inst1.ip("rule", "show")
                    let table = try inst1.ip("route", "show", "table", "all")
                    return rules.contains("from 10.4.2.10 lookup 2000") && rules.contains("proto 196")
                        && table.contains("10.0.0.0/8 via 10.4.2.1 dev net1 table 2000")
                }, "agent log:\n\(agent.log)")
            #expect(try agent.metrics().value("pathwatch_discovery_status", ["source": "metadata"]) == 1)
            #expect(!(try inst1.ip("rule", "show")).contains("from 10.4.1.10"), "the primary interface gets no expectations")
            #expect(try inst1.ip("route", "show", "10.0.0.0/8").isEmpty, "policy routing leaves the main table alone")
            try lab.subnets.inst2.ip("route", "add", "10.4.2.0/24", "via", "10.5.2.1", "dev", "net1")  // the mirrored side by hand
            #expect(eventually(within: 3) { SubnetLab.ping(from: inst1, source: "10.4.2.10", to: "10.5.2.10") })
            #expect(
                try agent.metrics().value(
                    "pathwatch_missing_subnet_route", ["interface": "net1", "destination": "10.0.0.0/8", "gateway": "10.4.2.1"]) == 0)
            #expect(agent.log.contains("discovered subnet routes"))
        }
    }

    @Test func slowAnswersTimeOutAndTheAgentStaysHealthy() throws {
        try Self.withLab { lab in
            let inst1 = lab.subnets.inst1
            let server = try lab.startServer("slow")
            defer { server.stop() }
            let before = try SubnetLab.routeTable(inst1)
            let agent = try AgentProcess(in: inst1, config: Self.config(timeout: 0.5))
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(
                try eventually(within: 5) {
                    let metrics = try agent.metrics()
                    return metrics.value("pathwatch_discovery_status", ["source": "metadata"]) == 0
                        && (metrics.value("pathwatch_discovery_failures_total", ["source": "metadata", "reason": "timeout"]) ?? 0) >= 1
                }, "agent log:\n\(agent.log)")
            #expect(try agent.get("/readyz").status == 200, "readiness does not depend on discovery")
            #expect(try agent.get("/healthz").status == 200)
            #expect(agent.log.contains("did not answer in time"))
            #expect(try SubnetLab.routeTable(inst1) == before, "nothing discovered, nothing changed")
        }
    }

    @Test func unreachableThenGarbageAnswersChangeNothing() throws {
        try Self.withLab { lab in
            let inst1 = lab.subnets.inst1
            let before = try SubnetLab.routeTable(inst1)
            let agent = try AgentProcess(in: inst1, config: Self.config())
            defer { agent.stop() }
            try agent.waitUntilReady()
            // Nothing listens yet: unreachable, logged once however often it retries.
            #expect(
                try eventually(within: 5) {
                    (try agent.metrics().value("pathwatch_discovery_failures_total", ["source": "metadata", "reason": "unreachable"]) ?? 0)
                        >= 2
                }, "agent log:\n\(agent.log)")
            #expect(agent.log.components(separatedBy: "instance metadata service unreachable").count == 2, "one line per state change")

            let server = try lab.startServer("garbage")
            defer { server.stop() }
            #expect(
                try eventually(within: 8) {
                    let metrics = try agent.metrics()
                    return (metrics.value("pathwatch_discovery_failures_total", ["source": "metadata", "reason": "garbage"]) ?? 0) >= 1
                        && metrics.value("pathwatch_discovery_status", ["source": "metadata"]) == 0
                }, "agent log:\n\(agent.log)")
            #expect(agent.log.contains("instance metadata answer not understood"))
            #expect(try agent.get("/readyz").status == 200)
            #expect(!(try agent.metrics().text.contains("pathwatch_missing_subnet_route{")), "no expectations")
            #expect(try SubnetLab.routeTable(inst1) == before, "no changes")
        }
    }
}
