import Foundation
import PathwatchCore
import Testing
import Yams

/// `packaging/kubernetes-overlays/tls`: the base behind the web config (TLS from a Secret, basic
/// auth), checked offline: the patched DaemonSet and the Secret against the Kubernetes schemas,
/// the web config with the agent's own parser, the scrape job with promtool.
@Suite("Kubernetes TLS overlay and scrape config")
struct KubernetesTLSOverlayTests {
    static let directory = "packaging/kubernetes-overlays/tls"

    /// The RFC 6902 operations the overlay uses (`add`, `replace`) on the base DaemonSet, applied
    /// here so that no kustomize binary is needed.
    static func patchedDaemonSet() throws -> [String: Any] {
        var daemonSet = try KubernetesManifestTests.yaml("packaging/kubernetes/daemonset.yaml")
        let operations = try #require(try Yams.load(yaml: try Tool.read("\(directory)/daemonset-patch.yaml")) as? [[String: Any]])
        for operation in operations {
            let op = try #require(operation["op"] as? String)
            let path = try #require(operation["path"] as? String).split(separator: "/").map {
                $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            }
            try #require(op == "add" || op == "replace", "operation \(op) is not applied by this test")
            daemonSet = try apply(daemonSet, path[...], value: try #require(operation["value"])) as! [String: Any]
        }
        return daemonSet
    }

    static func apply(_ node: Any, _ path: ArraySlice<String>, value: Any) throws -> Any {
        guard let key = path.first else { return value }
        if var object = node as? [String: Any] {
            object[key] = path.count == 1 ? value : try apply(try #require(object[key], "no \(key)"), path.dropFirst(), value: value)
            return object
        }
        var array = try #require(node as? [Any], "\(key) is not in an array or object")
        if key == "-" {
            array.append(value)
        } else {
            let index = try #require(Int(key))
            array[index] = path.count == 1 ? value : try apply(array[index], path.dropFirst(), value: value)
        }
        return array
    }

    @Test func kustomizationPatchesTheBaseAndAddsTheSecret() throws {
        let kustomization = try KubernetesManifestTests.yaml("\(Self.directory)/kustomization.yaml")
        #expect(kustomization["resources"] as? [String] == ["../../kubernetes", "web-config.yaml"])
        let patches = try #require(kustomization["patches"] as? [[String: Any]])
        #expect(patches.first?["path"] as? String == "daemonset-patch.yaml")
    }

    @Test func patchedDaemonSetAndSecretValidate() throws {
        try Tool.require("python3")
        let daemonSet = try Self.patchedDaemonSet()
        try Tool.withTemporaryDirectory { directory in
            let file = directory.appendingPathComponent("daemonset.yaml")
            try Yams.dump(object: daemonSet).write(to: file, atomically: true, encoding: .utf8)
            let secret = Tool.path("\(Self.directory)/web-config.yaml").path
            let result = try Tool.run(["python3", "-m", "kubernetes_validate", "--strict", "--no-warn", file.path, secret])
            #expect(result.output.components(separatedBy: " passed ").count - 1 == 2, "\(result.output)")
        }
    }

    @Test func theAgentReadsTheMountedWebConfigAndProbesUseHTTPS() throws {
        let secret = try KubernetesManifestTests.yaml("\(Self.directory)/web-config.yaml")
        let text = try #require((secret["stringData"] as? [String: Any])?["web-config.yml"] as? String)
        let web = try WebConfigParser.parse(text, file: "web-config.yml")
        #expect(Set(web.basicAuthUsers.keys) == ["prometheus", "probe"])

        let spec = try #require(
            ((Self.patchedDaemonSet()["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try #require((spec["containers"] as? [[String: Any]])?.first)
        let args = try #require(container["args"] as? [String])
        let webFile = try #require(args.drop { $0 != "--web-config" }.dropFirst().first)
        let mounts = try #require(container["volumeMounts"] as? [[String: Any]])
        func mount(of file: String) -> String? {
            mounts.first { file.hasPrefix(($0["mountPath"] as? String ?? "") + "/") }?["name"] as? String
        }
        let volumes = try #require(spec["volumes"] as? [[String: Any]])
        func secretName(_ volume: String?) -> String? {
            (volumes.first { $0["name"] as? String == volume }?["secret"] as? [String: Any])?["secretName"] as? String
        }
        #expect(secretName(mount(of: webFile)) == "pathwatch-web-config")
        #expect((secret["metadata"] as? [String: Any])?["name"] as? String == "pathwatch-web-config")
        #expect(webFile.hasSuffix("/web-config.yml"))
        let tls = try #require(web.tls)
        #expect(secretName(mount(of: tls.certFile)) == "pathwatch-tls")
        #expect(secretName(mount(of: tls.keyFile)) == "pathwatch-tls")
        #expect(tls.certFile.hasSuffix("/tls.crt") && tls.keyFile.hasSuffix("/tls.key"))

        for probe in ["livenessProbe", "readinessProbe"] {
            let get = try #require((container[probe] as? [String: Any])?["httpGet"] as? [String: Any])
            #expect(get["scheme"] as? String == "HTTPS")
            let header = try #require((get["httpHeaders"] as? [[String: Any]])?.first)
            let value = try #require(header["value"] as? String)
            let decoded = Data(base64Encoded: String(value.dropFirst("Basic ".count))).map { String(decoding: $0, as: UTF8.self) }
            #expect(decoded?.hasPrefix("probe:") == true, "\(probe) authenticates as the probe user")
        }
    }

    @Test func scrapeConfigIsHTTPSWithBasicAuthAndPassesPromtool() throws {
        try Tool.require("promtool")
        let file = "\(Self.directory)/prometheus-scrape.yml"
        let result = try Tool.run(["promtool", "check", "config", Tool.path(file).path])
        #expect(result.output.contains("SUCCESS"), "\(result.output)")
        let config = try KubernetesManifestTests.yaml(file)
        let job = try #require((config["scrape_configs"] as? [[String: Any]])?.first)
        #expect(job["scheme"] as? String == "https")
        #expect((job["basic_auth"] as? [String: Any])?["username"] as? String == "prometheus")
        #expect((job["tls_config"] as? [String: Any])?["ca_file"] != nil)
    }
}
