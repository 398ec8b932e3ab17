import Foundation
import Logging
import NIOCore
import NIOPosix
import Netlink
import PathwatchCore
import Testing

@testable import PathwatchAgent

/// Kubernetes reporting end to end against ``StandInAPIServer``: real HTTPS on loopback with a
/// CA made for the test, a bearer token from a file, configured through a real kubeconfig file.
@Suite("Kubernetes reporting", .serialized)
struct KubernetesReportingTests {
    /// One agent-side setup: the files, the server, the reporting service running in a task.
    final class Lab: Sendable {
        let pki: TestPKI
        let server: StandInAPIServer
        let findings = FindingsRegistry()
        let metrics = AgentMetrics(version: "t", commit: "t")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let tokenFile: String
        let kubeconfig: String
        static let node = "node-1"

        init() async throws {
            pki = try TestPKI()
            server = try await StandInAPIServer(pki: pki, token: "token-1", nodeName: Self.node)
            tokenFile = pki.directory.appendingPathComponent("token").path
            kubeconfig = pki.directory.appendingPathComponent("kubeconfig").path
            try "token-1\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
            try """
            apiVersion: v1
            kind: Config
            clusters:
            - name: lab
              cluster: {server: "https://127.0.0.1:\(server.port)", certificate-authority: ca.crt}
            contexts:
            - name: lab
              context: {cluster: lab, user: agent}
            current-context: lab
            users:
            - name: agent
              user: {tokenFile: token}
            """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        }

        func config() -> AgentConfig {
            var config = AgentConfig()
            config.kubernetes.enabled = true
            config.kubernetes.kubeconfig = kubeconfig
            config.kubernetes.nodeName = Self.node
            config.paths.enabled = false
            config.liveTrafficScanSeconds = 0
            config.hairpin.windowSeconds = 0.1
            config.kubernetes.timeoutSeconds = 2
            return config
        }

        func reporting(_ config: AgentConfig? = nil) throws -> KubernetesReporting {
            try #require(
                try KubernetesReporting(
                    config: config ?? self.config(), findings: findings, modelReady: { true }, metrics: metrics, eventLoopGroup: group,
                    environment: [:], logger: Logger(label: "test")))
        }

        func close() async {
            try? await server.shutdown()
            try? await group.shutdownGracefully()
            pki.remove()
        }

        func condition(_ type: String) -> NodeCondition? { server.state.withLock { $0.conditions[type] } }

        func events() -> [[String: Any]] {
            server.state.withLock { $0.events }.compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
        }

        func requests(_ count: KubernetesMetrics.Verb, _ result: KubernetesMetrics.Result) -> Int {
            let text = String(decoding: metrics.exposition(), as: UTF8.self)
            let prefix = #"pathwatch_kubernetes_requests_total{verb="\#(count.rawValue)",result="\#(result.rawValue)"} "#
            return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
        }
    }

    /// Runs `body` with the reporting service running; stops it afterwards.
    static func running(_ lab: Lab, _ service: KubernetesReporting, _ body: () async throws -> Void) async throws {
        let task = Task { try await service.run() }
        defer { task.cancel() }
        try await body()
        task.cancel()
        _ = await task.result
    }

    static func eventually(_ seconds: Double, _ what: String, _ check: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if check() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("not within \(seconds) s: \(what)")
        throw CancellationError()
    }

    static func hairpin(_ findings: FindingsRegistry) {
        findings.report(
            kind: .hairpin, key: "10.0.9.9:80", summary: "Connections from this node to frontend 10.0.9.9:80 come back to this node",
            evidence: ["frontend": .string("10.0.9.9:80")], remediation: [:], at: Date())
    }

    @Test func aFindingSetsItsConditionAndAnEventAndClearingItSetsFalse() async throws {
        let lab = try await Lab()
        defer { Task { await lab.close() } }
        try await Self.running(lab, try lab.reporting()) {
            // Before any finding, once the (short) first window has passed: every condition False.
            try await Self.eventually(5, "all conditions False") { lab.condition("PathwatchHairpin")?.status == "False" }
            #expect(FindingKind.nodeProblems.allSatisfy { lab.condition($0.conditionType)?.reason == $0.clearReason })
            let falseSince = try #require(lab.condition("PathwatchHairpin")?.lastTransitionTime)

            Self.hairpin(lab.findings)
            try await Self.eventually(5, "PathwatchHairpin=True") { lab.condition("PathwatchHairpin")?.status == "True" }
            let set = try #require(lab.condition("PathwatchHairpin"))
            #expect(set.reason == "HairpinFound")
            #expect(set.message.contains("10.0.9.9:80"))
            #expect(set.lastTransitionTime >= falseSince)
            #expect(
                lab.condition("PathwatchMissingSubnetRoute")?.lastTransitionTime
                    == lab.condition("PathwatchMissingSubnetRoute")?.lastTransitionTime)
            try await Self.eventually(5, "a Warning event") { lab.events().contains { $0["reason"] as? String == "HairpinFound" } }

            lab.findings.clear(kind: .hairpin, key: "10.0.9.9:80")
            try await Self.eventually(15, "PathwatchHairpin=False") { lab.condition("PathwatchHairpin")?.status == "False" }
            try await Self.eventually(5, "a Normal event") { lab.events().contains { $0["reason"] as? String == "HairpinCleared" } }
            // Counted when the answer is in, a moment after the server stored the object.
            try await Self.eventually(5, "both events counted") { lab.requests(.create, .success) >= 2 }
        }
        let warning = try #require(lab.events().first { $0["reason"] as? String == "HairpinFound" })
        #expect(warning["type"] as? String == "Warning")
        let involved = try #require(warning["involvedObject"] as? [String: Any])
        #expect(involved["kind"] as? String == "Node")
        #expect(involved["name"] as? String == Lab.node)
        #expect(involved["uid"] as? String == lab.server.state.withLock { $0.nodeUID })
        #expect(lab.events().first { $0["reason"] as? String == "HairpinCleared" }?["type"] as? String == "Normal")
        // The kubelet's condition was never touched.
        #expect(StandInAPIServer.nodeJSON(lab.server.state.withLock { $0 }).contains(#""type":"Ready""#))
        #expect(lab.requests(.patch, .success) >= 3)
        try KubernetesSchemas.validate(
            node: StandInAPIServer.nodeJSON(lab.server.state.withLock { $0 }), events: lab.server.state.withLock { $0.events })
    }

    @Test func podsOnTheNodeAreNamedFromTheListAndTheWatchWhichSurvivesGarbageAndGone() async throws {
        let lab = try await Lab()
        defer { Task { await lab.close() } }
        lab.server.state.withLock {
            $0.podList =
                #"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"10"},"items":[{"metadata":{"name":"client-7d9","namespace":"shop","uid":"a"},"spec":{},"status":{"phase":"Running","podIPs":[{"ip":"10.0.1.20"}]}},{"metadata":{"name":"kube-proxy","namespace":"kube-system","uid":"k"},"spec":{"hostNetwork":true},"status":{"phase":"Running","podIPs":[{"ip":"10.0.1.10"}]}}]}"#
        }
        var config = lab.config()
        config.kubernetes.conditions = false
        config.kubernetes.events = false
        let service = try lab.reporting(config)
        try await Self.running(lab, service) {
            try await Self.eventually(5, "the listed pod is named") { service.podNames.pod(at: IPAddress("10.0.1.20")!) != nil }
            #expect(service.podNames.pod(at: IPAddress("10.0.1.20")!)?.description == "shop/client-7d9")
            #expect(service.podNames.pod(at: IPAddress("10.0.1.10")!) == nil)
            try await Self.eventually(5, "a watch is open") { lab.server.watchesOpened == 1 }
            lab.server.sendWatchLine(
                #"{"type":"ADDED","object":{"metadata":{"name":"server-0","namespace":"shop","uid":"b","resourceVersion":"11"},"spec":{},"status":{"phase":"Running","podIPs":[{"ip":"10.0.1.21"}]}}}"#
            )
            try await Self.eventually(5, "the watched pod is named") {
                service.podNames.pod(at: IPAddress("10.0.1.21")!)?.name == "server-0"
            }

            // A garbage line breaks the watch: counted, listed again, the names stay meanwhile.
            lab.server.sendWatchLine("<html>502 Bad Gateway</html>")
            try await Self.eventually(8, "a second list") {
                lab.server.state.withLock { s in
                    s.requests.filter { !$0.path.contains("watch=true") && $0.path.hasPrefix("/api/v1/pods") }.count
                } >= 2
            }
            #expect(service.podNames.pod(at: IPAddress("10.0.1.20")!) != nil)
            try await Self.eventually(8, "a second watch is open") { lab.server.watchesOpened == 2 }

            // 410 Gone: the resourceVersion is too old; list again.
            lab.server.sendWatchLine(
                #"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","code":410,"message":"too old resource version"}}"#)
            try await Self.eventually(8, "a third list") {
                lab.server.state.withLock { s in
                    s.requests.filter { !$0.path.contains("watch=true") && $0.path.hasPrefix("/api/v1/pods") }.count
                } >= 3
            }
            // The server has seen the third list; the client counts it once the answer is in.
            try await Self.eventually(8, "the third list counted") { lab.requests(.list, .success) >= 3 }
        }
        #expect(lab.requests(.list, .success) >= 3)
        #expect(lab.requests(.watch, .success) >= 2)
    }

    @Test func refusalsConflictsAndGarbageAreRetriedWithoutTouchingDetection() async throws {
        let lab = try await Lab()
        defer { Task { await lab.close() } }
        lab.server.state.withLock {
            $0.faults = [
                .init(method: "GET", pathPrefix: "/api/v1/nodes/", status: 200, body: "<html>not json</html>"),
                .init(
                    method: "PATCH", pathPrefix: "/api/v1/nodes/", status: 403, body: #"{"kind":"Status","code":403,"message":"forbidden"}"#
                ),
                .init(
                    method: "PATCH", pathPrefix: "/api/v1/nodes/", status: 409, body: #"{"kind":"Status","code":409,"message":"conflict"}"#),
                .init(
                    method: "POST", pathPrefix: "/api/v1/namespaces/", status: 422,
                    body: #"{"kind":"Status","code":422,"message":"invalid"}"#),
            ]
        }
        Self.hairpin(lab.findings)
        try await Self.running(lab, try lab.reporting()) {
            try await Self.eventually(15, "PathwatchHairpin=True after the faults") { lab.condition("PathwatchHairpin")?.status == "True" }
            // The event the API refused (422) is dropped, not retried for ever; nothing else blocks.
            try await Self.eventually(5, "the refused event counted") { lab.requests(.create, .clientError) == 1 }
            try await Task.sleep(for: .seconds(1))
            #expect(lab.requests(.create, .clientError) == 1)
        }
        #expect(lab.requests(.patch, .forbidden) == 1)
        #expect(lab.requests(.patch, .conflict) == 1)
        #expect(lab.requests(.get, .success) >= 2)  // the garbage answer, then a good one
        #expect(lab.server.state.withLock { $0.events.isEmpty })
        #expect(lab.findings.snapshot().count == 1)
    }

    @Test func anAPIServerThatGoesAwayAndATokenThatRotatesAreRecoveredFrom() async throws {
        let lab = try await Lab()
        defer { Task { await lab.close() } }
        try await Self.running(lab, try lab.reporting()) {
            try await Self.eventually(5, "conditions False") { lab.condition("PathwatchHairpin")?.status == "False" }
            try await lab.server.goAway()
            Self.hairpin(lab.findings)
            // The client keeps trying to connect until the request's timeout (2 s here), then it counts.
            try await Self.eventually(6, "an unreachable patch") { lab.requests(.patch, .unreachable) >= 1 }
            #expect(lab.condition("PathwatchHairpin")?.status == "False")
            try await lab.server.comeBack()
            try await Self.eventually(10, "True once the API is back") { lab.condition("PathwatchHairpin")?.status == "True" }

            // The projected token rotates: the server accepts only the new one, the agent reads it.
            lab.server.state.withLock { $0.token = "token-2" }
            try "token-2\n".write(toFile: lab.tokenFile, atomically: true, encoding: .utf8)
            lab.findings.clear(kind: .hairpin, key: "10.0.9.9:80")
            try await Self.eventually(10, "False with the new token") { lab.condition("PathwatchHairpin")?.status == "False" }
            #expect(lab.server.state.withLock { $0.requests.last?.authorized } == true)
        }
    }

    @Test func configurationProblemsAreRefusedAtStartNamingTheKey() async throws {
        let lab = try await Lab()
        defer { Task { await lab.close() } }
        var config = lab.config()
        // A kubeconfig that cannot be read says why, and a wrong path to something large (a
        // log, a device) is refused rather than read whole.
        func refusal(_ path: String) -> String? {
            config.kubernetes.kubeconfig = path
            do {
                _ = try lab.reporting(config)
                return nil
            } catch {
                return (error as? ConfigError).map { "\($0.key ?? "") \($0)" }
            }
        }
        let missing = refusal(lab.pki.directory.appendingPathComponent("missing").path)
        #expect(
            missing?.contains("kubernetes.kubeconfig") == true && missing?.contains("No such file or directory") == true,
            "\(missing ?? "accepted")")
        #expect(refusal(lab.pki.directory.path)?.contains("is a directory") == true)
        let large = lab.pki.directory.appendingPathComponent("large.yaml")
        try Data(repeating: 0x23, count: 5 << 20).write(to: large)
        #expect(refusal(large.path)?.contains("larger than 4 MiB") == true)
        config.kubernetes.kubeconfig = nil
        do {
            _ = try lab.reporting(config)
            Issue.record("no kubeconfig outside a pod was accepted")
        } catch {
            #expect((error as? ConfigError)?.key == "kubernetes.kubeconfig")
        }
        #expect(try KubernetesReporting.nodeName(.init(), environment: ["NODE_NAME": "ip-10-0-1-10"], hostName: "x") == "ip-10-0-1-10")
        #expect(try KubernetesReporting.nodeName(.init(), environment: [:], hostName: "Worker-3") == "worker-3")
        #expect(throws: ConfigError.self) { try KubernetesReporting.nodeName(.init(), environment: [:], hostName: "bad_name") }
        var off = AgentConfig()
        off.kubernetes.enabled = false
        #expect(
            try KubernetesReporting(
                config: off, findings: lab.findings, modelReady: { true }, metrics: lab.metrics, eventLoopGroup: lab.group,
                logger: Logger(label: "t")) == nil)
    }
}

/// The objects the stand-in server received, against the official schemas (kubernetes-validate,
/// installed by scripts/setup), strict: an unknown or misspelt field fails.
enum KubernetesSchemas {
    static func validate(node: String, events: [[UInt8]]) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pathwatch-schemas-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var files = [directory.appendingPathComponent("node.json").path]
        try node.write(toFile: files[0], atomically: true, encoding: .utf8)
        for (index, event) in events.enumerated() {
            let file = directory.appendingPathComponent("event-\(index).json").path
            try Data(event).write(to: URL(fileURLWithPath: file))
            files.append(file)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "kubernetes_validate", "--strict", "--no-warn"] + files
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "kubernetes-validate: \(output)")
        #expect(output.components(separatedBy: " passed").count - 1 == files.count, "\(output)")
    }
}
