import Foundation
import Testing

@testable import PathwatchCore

@Suite("Kubernetes configuration and kubeconfig")
struct KubernetesConfigTests: ConfigParsing {
    @Test func offByDefaultAndEveryKeyParses() throws {
        #expect(try parse("").kubernetes == AgentConfig.KubernetesSettings())
        #expect(!AgentConfig().kubernetes.enabled)
        let k = try parse(
            """
            kubernetes:
              enabled: true
              kubeconfig: /etc/pathwatch/kubeconfig
              nodeName: ip-10-0-1-10.ec2.internal
              conditions: false
              events: false
              podNames: false
              heartbeatSeconds: 120
              timeoutSeconds: 3
            """
        ).kubernetes
        #expect(k.enabled && !k.conditions && !k.events && !k.podNames)
        #expect(k.kubeconfig == "/etc/pathwatch/kubeconfig")
        #expect(k.nodeName == "ip-10-0-1-10.ec2.internal")
        #expect(k.heartbeatSeconds == 120 && k.timeoutSeconds == 3)
    }

    @Test func badValuesNameTheKeyAndLine() {
        let node = refusal("kubernetes:\n  enabled: true\n  nodeName: Node_1\n")
        #expect(node?.key == "kubernetes.nodeName")
        #expect(node?.line == 3)
        #expect(refusal("kubernetes:\n  kubeconfig: relative/file\n")?.key == "kubernetes.kubeconfig")
        #expect(refusal("kubernetes:\n  enabled: yes please\n")?.key == "kubernetes.enabled")
        #expect(refusal("kubernetes:\n  podName: true\n")?.message.contains("unknown key") == true)
        #expect(refusal("kubernetes:\n  heartbeatSeconds: 1\n")?.key == "kubernetes.heartbeatSeconds")
    }

    static let kubeconfig = """
        apiVersion: v1
        kind: Config
        preferences: {}
        clusters:
        - name: other
          cluster: {server: "https://10.9.9.9:6443"}
        - name: lab
          cluster:
            server: https://127.0.0.1:6443/
            certificate-authority: ca.crt
        contexts:
        - name: lab
          context: {cluster: lab, user: agent, namespace: pathwatch}
        current-context: lab
        users:
        - name: agent
          user:
            tokenFile: token
        """

    @Test func theCurrentContextsClusterAndUserAreUsedWithPathsRelativeToTheFile() throws {
        let access = try KubeconfigParser.parse(Self.kubeconfig, file: "/etc/pathwatch/kubeconfig")
        #expect(access.server == "https://127.0.0.1:6443")
        #expect(access.certificateAuthority == .file("/etc/pathwatch/ca.crt"))
        #expect(access.credentials == .tokenFile("/etc/pathwatch/token"))
    }

    @Test func inlineDataTokensAndClientCertificatesAreRead() throws {
        let text = """
            clusters: [{name: c, cluster: {server: "https://api:443", certificate-authority-data: "\(Data("PEM".utf8).base64EncodedString())"}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            current-context: x
            users:
            - name: u
              user: {client-certificate-data: "\(Data("CERT".utf8).base64EncodedString())", client-key: /k.pem}
            """
        let access = try KubeconfigParser.parse(text, file: "/tmp/kc")
        #expect(access.certificateAuthority == .data(Array("PEM".utf8)))
        #expect(access.credentials == .clientCertificate(certificate: .data(Array("CERT".utf8)), key: .file("/k.pem")))
        let token = text.replacingOccurrences(
            of: #"{client-certificate-data: "\#(Data("CERT".utf8).base64EncodedString())", client-key: /k.pem}"#, with: "{token: abc}")
        #expect(try KubeconfigParser.parse(token, file: "/tmp/kc").credentials == .token("abc"))
    }

    @Test func whatPathwatchCannotHonourIsRefusedNamingTheKey() {
        func refused(_ text: String) -> ConfigError? {
            do {
                _ = try KubeconfigParser.parse(text, file: "/tmp/kc")
                return nil
            } catch { return error }
        }
        let plain = Self.kubeconfig.replacingOccurrences(of: "https://127.0.0.1:6443/", with: "http://127.0.0.1:8080")
        #expect(refused(plain)?.key == "clusters[lab].cluster.server")
        let skip = Self.kubeconfig.replacingOccurrences(of: "certificate-authority: ca.crt", with: "insecure-skip-tls-verify: true")
        #expect(refused(skip)?.key == "clusters[lab].cluster.insecure-skip-tls-verify")
        let exec = Self.kubeconfig.replacingOccurrences(of: "tokenFile: token", with: "exec: {command: aws}")
        #expect(refused(exec)?.message.contains("exec") == true)
        let missing = Self.kubeconfig.replacingOccurrences(of: "current-context: lab", with: "current-context: nope")
        #expect(refused(missing)?.key == "contexts")
        #expect(refused("::: not yaml [") != nil)
        #expect(refused("- a list") != nil)
    }

    @Test func theInClusterServiceAccountNeedsKubernetesServiceHost() {
        #expect(KubernetesAccess.inCluster(environment: [:]) == nil)
        let access = KubernetesAccess.inCluster(environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"])
        #expect(access?.server == "https://[fd00::1]:6443")
        #expect(access?.credentials == .tokenFile("/var/run/secrets/kubernetes.io/serviceaccount/token"))
        #expect(access?.certificateAuthority == .file("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"))
    }

    @Test func theFirstWindowIsTheLongestDetectorWindow() {
        var config = AgentConfig()
        #expect(config.firstFullWindowSeconds == 50)  // paths: 30 s window + 20 s sustained
        config.paths.enabled = false
        #expect(config.firstFullWindowSeconds == 10)  // two live-traffic scans
    }
}

@Suite("Finding causes and retry backoff")
struct FindingCauseTests {
    @Test func causesAreBoundedLabelsPerKind() {
        var frontends = BoundedLabels(limit: 1)
        #expect(FindingCause.of(kind: .hairpin, key: "10.0.9.9:80", frontends: &frontends).frontend == "10.0.9.9:80")
        #expect(FindingCause.of(kind: .selfSourcedSynDrop, key: "10.0.9.9:80", frontends: &frontends).frontend == "10.0.9.9:80")
        #expect(FindingCause.of(kind: .hairpin, key: "10.0.9.8:80", frontends: &frontends).frontend == "other")
        #expect(FindingCause.of(kind: .missingSubnetRoute, key: "net1 10.5.2.0/24", frontends: &frontends).destination == "10.5.2.0/24")
        #expect(FindingCause.of(kind: .missingSubnetRoute, key: "live net1 10.5.2.10", frontends: &frontends).destination == "live-traffic")
        #expect(FindingCause.of(kind: .publicPathDegraded, key: "public", frontends: &frontends).path == "public")
        #expect(FindingCause.of(kind: .pathDegraded, key: "node", frontends: &frontends) == FindingCause(kind: .pathDegraded, path: "node"))
    }

    @Test func backoffDoublesToItsMaximumAndResets() {
        var b = RetryBackoff(initial: .seconds(1), maximum: .seconds(5))
        #expect([b.failed(), b.failed(), b.failed(), b.failed()] == [.seconds(1), .seconds(2), .seconds(4), .seconds(5)])
        b.succeeded()
        #expect(b.failed() == .seconds(1))
    }
}
