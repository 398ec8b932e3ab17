import Foundation
import Testing

/// Issue 18's done-when for Kubernetes reporting, with the real agent in a node namespace and a
/// stand-in API server (scripts/kube-standin-apiserver.py: HTTPS with a CA made here, a bearer
/// token) in the same namespace, reached through a real kubeconfig file: a pod hairpin sets
/// `PathwatchHairpin=True` naming the frontend within 5 s and creates an Event about the Node;
/// the condition goes `False` within 15 s of the finding closing.
@Suite(
    "Kubernetes reporting in namespaces", .serialized,
    .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct KubernetesReportingNamespaceTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../scripts/kube-standin-apiserver.py").standardized.path

    /// CA, server certificate for 127.0.0.1, token, kubeconfig and the pod list, in a fresh directory.
    static func files(port: Int) throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("pathwatch-kube-ns-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        let p = d.path
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try Shell.run(
            ["openssl", "req", "-x509"] + ec + ["-keyout", "\(p)/ca.key", "-out", "\(p)/ca.crt", "-days", "1", "-subj", "/CN=test CA"])
        try Shell.run(["openssl", "req"] + ec + ["-keyout", "\(p)/server.key", "-out", "\(p)/server.csr", "-subj", "/CN=127.0.0.1"])
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: "\(p)/san.ext", atomically: true, encoding: .utf8)
        try Shell.run([
            "openssl", "x509", "-req", "-in", "\(p)/server.csr", "-CA", "\(p)/ca.crt", "-CAkey", "\(p)/ca.key", "-CAcreateserial",
            "-out", "\(p)/server.crt", "-days", "1", "-extfile", "\(p)/san.ext",
        ])
        try "secret-token\n".write(toFile: "\(p)/token", atomically: true, encoding: .utf8)
        try """
        apiVersion: v1
        kind: Config
        clusters: [{name: lab, cluster: {server: "https://127.0.0.1:\(port)", certificate-authority: ca.crt}}]
        contexts: [{name: lab, context: {cluster: lab, user: agent}}]
        current-context: lab
        users: [{name: agent, user: {tokenFile: token}}]
        """.write(toFile: "\(p)/kubeconfig", atomically: true, encoding: .utf8)
        let pods = #"""
            {"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":[
             {"metadata":{"name":"client-7d9","namespace":"shop","uid":"a"},"spec":{},"status":{"phase":"Running","podIPs":[{"ip":"10.0.1.20"}]}},
             {"metadata":{"name":"server-0","namespace":"shop","uid":"b"},"spec":{},"status":{"phase":"Running","podIPs":[{"ip":"10.0.1.21"}]}}]}
            """#
        try pods.write(toFile: "\(p)/pods.json", atomically: true, encoding: .utf8)
        return d
    }

    static func state(_ directory: URL) -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("state.json").path) else { return [:] }
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    static func condition(_ directory: URL, _ type: String) -> [String: Any]? {
        let conditions = ((state(directory)["node"] as? [String: Any])?["status"] as? [String: Any])?["conditions"] as? [[String: Any]]
        return conditions?.first { $0["type"] as? String == type }
    }

    @Test func aHairpinSetsTheNodeConditionAndAnEventAndClearsIt() throws {
        try withNamespaces(HairpinTests.labels) { nss in
            let lab = try HairpinLab(nss, backend: .podB)
            let listener = try BackgroundProcess(
                ["socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo hello"], in: lab.podB, name: "listener")
            defer { listener.stop() }
            let port = Int.random(in: 20_000..<30_000)
            let directory = try Self.files(port: port)
            defer { try? FileManager.default.removeItem(at: directory) }
            let d = directory.path
            let api = try BackgroundProcess(
                [
                    "python3", Self.script, "\(port)", "\(d)/server.crt", "\(d)/server.key", "secret-token", "node-1", "\(d)/pods.json",
                    "\(d)/state.json",
                ], in: lab.node, name: "apiserver")
            defer { api.stop() }
            #expect(eventually(within: 5) { api.output.contains("listening") }, "stand-in API server: \(api.output)")
            let agent = try AgentProcess(
                in: lab.node,
                config: """
                    hairpin:
                      quietSeconds: 2
                    paths:
                      enabled: false
                    kubernetes:
                      enabled: true
                      kubeconfig: \(d)/kubeconfig
                      nodeName: node-1
                    """)
            defer { agent.stop() }
            try agent.waitUntilReady()
            // Healthy first, once the detectors have watched their first window.
            #expect(
                eventually(within: 15, every: 0.2) { Self.condition(directory, "PathwatchHairpin")?["status"] as? String == "False" },
                "log:\n\(agent.log)")

            let client = try BackgroundProcess(
                ["socat", "-u", "OPEN:/dev/null", "TCP:10.0.9.9:80,connect-timeout=3"], in: lab.podA, name: "client")
            defer { client.stop() }
            #expect(
                eventually(within: 5, every: 0.1) { Self.condition(directory, "PathwatchHairpin")?["status"] as? String == "True" },
                "True within 5 s; log:\n\(agent.log)")
            let condition = try #require(Self.condition(directory, "PathwatchHairpin"))
            #expect(condition["reason"] as? String == "HairpinFound")
            #expect((condition["message"] as? String)?.contains("10.0.9.9:80") == true, "names the frontend: \(condition)")
            #expect(
                eventually(within: 5, every: 0.1) {
                    (Self.state(directory)["events"] as? [[String: Any]])?.contains { $0["reason"] as? String == "HairpinFound" } == true
                })
            let event = try #require(
                (Self.state(directory)["events"] as? [[String: Any]])?.first { $0["reason"] as? String == "HairpinFound" })
            #expect(event["type"] as? String == "Warning")
            #expect((event["involvedObject"] as? [String: Any])?["name"] as? String == "node-1")
            #expect(Self.condition(directory, "Ready")?["status"] as? String == "True", "the kubelet's condition is untouched")
            // Both pods named in the finding, from the watch of the node's pods.
            let finding = try #require(try agent.findings(kind: "hairpin").first)
            let evidence = finding["evidence"] as? [String: Any] ?? [:]
            #expect(evidence["clientPods"] as? [String] == ["shop/client-7d9"], "\(evidence)")
            #expect(evidence["serverPods"] as? [String] == ["shop/server-0"], "\(evidence)")
            #expect((finding["summary"] as? String)?.contains("shop/client-7d9") == true)

            // The finding closes after hairpin.quietSeconds without new hairpinned flows.
            client.process.waitUntilExit()
            #expect(eventually(within: 10, every: 0.1) { (try? agent.findings(kind: "hairpin").isEmpty) == true })
            #expect(
                eventually(within: 15, every: 0.1) { Self.condition(directory, "PathwatchHairpin")?["status"] as? String == "False" },
                "False within 15 s of the finding closing")
            #expect((try agent.metrics().value("pathwatch_kubernetes_requests_total", ["verb": "list", "result": "success"]) ?? 0) >= 1)
            #expect((try agent.metrics().value("pathwatch_kubernetes_requests_total", ["verb": "patch", "result": "success"]) ?? 0) >= 3)
        }
    }

    /// The instance hairpin of a pod masqueraded to the node's address: the self-sourced SYN
    /// finding names the client pod, from the conntrack flow the frontend is named from.
    @Test func aMasqueradedPodsInstanceHairpinNamesTheClientPod() throws {
        try withNamespaces(["inst", "lb", "pod"]) { nss in
            let (instance, lb, pod) = (nss[0], nss[1], nss[2])
            let lab = SelfSourcedSynDropTests()
            _ = try lab.lab(instance, lb)
            try lab.masqueradedPod(pod, on: instance)
            let port = Int.random(in: 20_000..<30_000)
            let directory = try Self.files(port: port)
            defer { try? FileManager.default.removeItem(at: directory) }
            let d = directory.path
            try #"""
            {"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":[
             {"metadata":{"name":"client-7d9","namespace":"shop","uid":"a"},"spec":{},"status":{"phase":"Running","podIPs":[{"ip":"10.244.0.2"}]}}]}
            """#.write(toFile: "\(d)/pods.json", atomically: true, encoding: .utf8)
            let api = try BackgroundProcess(
                [
                    "python3", Self.script, "\(port)", "\(d)/server.crt", "\(d)/server.key", "secret-token", "node-1", "\(d)/pods.json",
                    "\(d)/state.json",
                ], in: instance, name: "apiserver")
            defer { api.stop() }
            #expect(eventually(within: 5) { api.output.contains("listening") }, "stand-in API server: \(api.output)")
            let agent = try AgentProcess(
                in: instance,
                config: """
                    paths:
                      enabled: false
                    kubernetes:
                      enabled: true
                      kubeconfig: \(d)/kubeconfig
                      nodeName: node-1
                      conditions: false
                      events: false
                    """)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(
                eventually(within: 5, every: 0.1) {
                    ((try? agent.metrics().value("pathwatch_kubernetes_requests_total", ["verb": "list", "result": "success"])) ?? nil ?? 0)
                        >= 1
                }, "the pods are listed first; log:\n\(agent.log)")
            let client = try BackgroundProcess(
                ["socat", "-u", "OPEN:/dev/null", "TCP:10.0.9.9:80,connect-timeout=3"], in: pod, name: "pod-client")
            defer { client.stop() }
            #expect(
                eventually(within: 3, every: 0.05) {
                    let finding = (try? agent.findings(kind: "self_sourced_syn_drop"))?.first
                    return (finding?["evidence"] as? [String: Any])?["clientPods"] as? [String] == ["shop/client-7d9"]
                }, "log:\n\(agent.log)")
            let finding = try #require(try agent.findings(kind: "self_sourced_syn_drop").first)
            #expect((finding["summary"] as? String)?.contains("pods shop/client-7d9") == true, "\(finding)")
        }
    }

    @Test func aKubeconfigThatCannotBeUsedRefusesStartUpNamingTheKey() throws {
        try withNamespaces(["node"]) { nss in
            let agent = try AgentProcess(
                in: nss[0],
                config: """
                    kubernetes:
                      enabled: true
                      kubeconfig: /nonexistent/kubeconfig
                      nodeName: node-1
                    """)
            defer { agent.stop() }
            agent.process.waitUntilExit()
            #expect(agent.process.terminationStatus == 2, "log:\n\(agent.log)")
            #expect(agent.log.contains("kubernetes.kubeconfig"), "log:\n\(agent.log)")
        }
    }
}
