import Foundation
import PathwatchCore
import Testing
import Yams

@Suite("Kubernetes manifests and container image")
struct KubernetesManifestTests {
    static let directory = "packaging/kubernetes"

    static func yaml(_ relative: String) throws -> [String: Any] {
        try #require(try Yams.load(yaml: try Tool.read(relative)) as? [String: Any])
    }

    static func kustomization() throws -> [String: Any] { try yaml("\(directory)/kustomization.yaml") }

    /// The kustomization lists every manifest in the directory; the generated ConfigMap's file
    /// is the only other YAML there.
    @Test func kustomizationListsEveryManifest() throws {
        let kustomization = try Self.kustomization()
        let resources = try #require(kustomization["resources"] as? [String])
        let generated = (kustomization["configMapGenerator"] as? [[String: Any]] ?? []).flatMap { $0["files"] as? [String] ?? [] }
        let files = try FileManager.default.contentsOfDirectory(atPath: Tool.path(Self.directory).path)
            .filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" }
        #expect(Set(resources).union(generated) == Set(files))
        #expect(generated == ["config.yaml"])
    }

    /// Every manifest against the Kubernetes OpenAPI schemas, offline and strict (unknown fields fail).
    @Test func manifestsValidateAgainstTheKubernetesSchemas() throws {
        try requireValidator()
        let resources = try #require(try Self.kustomization()["resources"] as? [String])
        let result = try Tool.run(
            ["python3", "-m", "kubernetes_validate", "--strict", "--no-warn"] + resources, in: Tool.path(Self.directory))
        #expect(result.output.components(separatedBy: " passed ").count - 1 == resources.count, "\(result.output)")
    }

    /// The validator is strict: a misspelt field fails, so the check above can fail.
    @Test func validatorRejectsAMisspeltField() throws {
        try requireValidator()
        let daemonSet = try Tool.read("\(Self.directory)/daemonset.yaml")
        try Tool.withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("daemonset.yaml")
            try daemonSet.replacingOccurrences(of: "hostNetwork:", with: "hostNetwrk:").write(to: file, atomically: true, encoding: .utf8)
            let result = try Tool.run(["python3", "-m", "kubernetes_validate", "--strict", file.path], check: false)
            #expect(result.status != 0, "\(result.output)")
            #expect(result.output.contains("hostNetwrk"))
        }
    }

    private func requireValidator() throws {
        try Tool.require("python3")
        if try Tool.run(["python3", "-m", "kubernetes_validate", "--version"], check: false).status != 0 {
            throw Tool.Missing(tool: "kubernetes-validate (python3 -m kubernetes_validate)")
        }
    }

    @Test func daemonSetRunsOnTheHostNetworkWithNetAdminOnly() throws {
        let daemonSet = try Self.yaml("\(Self.directory)/daemonset.yaml")
        let pod = try #require((daemonSet["spec"] as? [String: Any])?["template"] as? [String: Any])
        let spec = try #require(pod["spec"] as? [String: Any])
        #expect(spec["hostNetwork"] as? Bool == true)
        let tolerations = try #require(spec["tolerations"] as? [[String: Any]])
        #expect(tolerations.contains { $0["operator"] as? String == "Exists" && $0["key"] == nil && $0["effect"] == nil })

        let containers = try #require(spec["containers"] as? [[String: Any]])
        #expect(containers.count == 1)
        let container = containers[0]
        #expect(container["args"] as? [String] == ["run", "--config", "/etc/pathwatch/config.yaml"])
        let security = try #require(container["securityContext"] as? [String: Any])
        #expect(security["privileged"] as? Bool == false)
        #expect(security["allowPrivilegeEscalation"] as? Bool == false)
        let capabilities = try #require(security["capabilities"] as? [String: Any])
        #expect(capabilities["add"] as? [String] == ["NET_ADMIN"])
        #expect(capabilities["drop"] as? [String] == ["ALL"])

        let resources = try #require(container["resources"] as? [String: Any])
        for kind in ["requests", "limits"] {
            let values = try #require(resources[kind] as? [String: Any], "no resource \(kind)")
            #expect(values["cpu"] != nil && values["memory"] != nil, "\(kind): \(values)")
        }

        func probePath(_ key: String) -> String? { ((container[key] as? [String: Any])?["httpGet"] as? [String: Any])?["path"] as? String }
        #expect(probePath("livenessProbe") == "/healthz")
        #expect(probePath("readinessProbe") == "/readyz")

        // The probes and the Service reach the port the configuration listens on.
        let config = try ConfigParser.parse(try Tool.read("\(Self.directory)/config.yaml"), file: "config.yaml")
        let ports = try #require(container["ports"] as? [[String: Any]])
        #expect(ports.first?["containerPort"] as? Int == config.listen.port)
        let service = try Self.yaml("\(Self.directory)/service.yaml")
        let servicePorts = try #require((service["spec"] as? [String: Any])?["ports"] as? [[String: Any]])
        #expect(servicePorts.first?["port"] as? Int == config.listen.port)

        // The configuration comes from the generated ConfigMap, mounted where args point.
        let generatorName = (try Self.kustomization()["configMapGenerator"] as? [[String: Any]])?.first?["name"] as? String
        let volumes = try #require(spec["volumes"] as? [[String: Any]])
        #expect(volumes.contains { ($0["configMap"] as? [String: Any])?["name"] as? String == generatorName })
        let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
        #expect(mounts.contains { $0["mountPath"] as? String == "/etc/pathwatch" })
    }

    /// With a read-only root filesystem the control socket's directory must be creatable: a
    /// writable volume at a parent of it (an emptyDir at the directory itself is world-writable,
    /// which the agent refuses), or the agent would exit at start-up.
    @Test func theControlSocketHasAWritableDirectoryUnderTheReadOnlyRoot() throws {
        let daemonSet = try Self.yaml("\(Self.directory)/daemonset.yaml")
        let spec = try #require(((daemonSet["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try #require((spec["containers"] as? [[String: Any]])?.first)
        let security = try #require(container["securityContext"] as? [String: Any])
        #expect(security["readOnlyRootFilesystem"] as? Bool == true)
        let config = try ConfigParser.parse(try Tool.read("\(Self.directory)/config.yaml"), file: "config.yaml")
        let socketDirectory = (config.controlSocket as NSString).deletingLastPathComponent
        let volumes = try #require(spec["volumes"] as? [[String: Any]])
        let writable = try #require(container["volumeMounts"] as? [[String: Any]]).filter { mount in
            mount["readOnly"] as? Bool != true
                && volumes.contains { $0["name"] as? String == mount["name"] as? String && $0["emptyDir"] != nil }
        }
        let parents = writable.compactMap { $0["mountPath"] as? String }.filter { socketDirectory.hasPrefix($0 + "/") }
        #expect(!parents.isEmpty, "no writable volume above \(socketDirectory)")
        #expect(
            !writable.contains { $0["mountPath"] as? String == socketDirectory },
            "an emptyDir at the socket's own directory is 0777, refused (ControlSocketTests)")
    }

    /// The cluster configuration parses with the agent's own parser and keeps auto-fix off.
    @Test func configMapConfigurationParsesWithAutofixOff() throws {
        let config = try ConfigParser.parse(try Tool.read("\(Self.directory)/config.yaml"), file: "config.yaml")
        #expect(config.autofix == .off)
        let packaged = try ConfigParser.parse(try Tool.read("packaging/config/config.yaml"), file: "config.yaml")
        #expect(packaged.autofix == .off)
        #expect(packaged == AgentConfig(), "packaging/config/config.yaml is documented as the defaults")
    }

    /// The Containerfile copies what scripts/build-release produces, and the ignore file lets it through.
    @Test func containerfileCopiesTheReleaseBinary() throws {
        let containerfile = try Tool.read("packaging/container/Containerfile")
        let script = try Tool.read("scripts/build-release")
        let dist = try #require(script.firstMatch(of: /\ndist=(\S+)\n/)?.output.1)
        let scratch = try #require(script.firstMatch(of: /\nscratch=(\S+)\n/)?.output.1)
        let binary = dist.replacingOccurrences(of: "$scratch", with: scratch) + "/pathwatch"
        #expect(binary == ".build-release/dist/pathwatch")
        #expect(containerfile.contains("COPY \(binary) /usr/bin/pathwatch"))
        #expect(containerfile.contains("FROM debian:12-slim"))
        #expect(containerfile.contains("apt-get install -y --no-install-recommends libmnl0 libnetfilter-conntrack3 libyaml-0-2"))
        let ignore = try Tool.read("packaging/container/Containerfile.dockerignore")
        for copy in containerfile.matches(of: /\nCOPY (\S+) (\S+)/) {
            let source = String(copy.output.1)
            #expect(ignore.contains("!\(source)"), "\(source) is excluded from the build context")
            if source != binary { #expect(FileManager.default.fileExists(atPath: Tool.path(source).path), "\(source) is missing") }
        }
        // The image the DaemonSet runs is this version.
        let version = try #require(try Tool.read("Sources/pathwatch/BuildInfo.swift").firstMatch(of: /version = "([^"]+)"/)?.output.1)
        let images = try #require(try Self.kustomization()["images"] as? [[String: Any]])
        #expect(images.first?["newTag"] as? String == String(version))
    }
}
