import Foundation
import PathwatchCore
import Testing

/// Kubernetes reporting's permissions: exactly what the agent uses, and the inputs it needs.
@Suite("Kubernetes reporting permissions")
struct KubernetesRBACTests {
    static let directory = KubernetesManifestTests.directory

    @Test func theClusterRoleGrantsExactlyWhatReportingUses() throws {
        let role = try KubernetesManifestTests.yaml("\(Self.directory)/clusterrole.yaml")
        #expect(role["kind"] as? String == "ClusterRole")
        let rules = try #require(role["rules"] as? [[String: Any]])
        var granted: Set<String> = []
        for rule in rules {
            #expect(rule["apiGroups"] as? [String] == [""], "\(rule)")
            for resource in rule["resources"] as? [String] ?? [] {
                for verb in rule["verbs"] as? [String] ?? [] { granted.insert("\(resource) \(verb)") }
            }
        }
        #expect(granted == ["nodes get", "nodes/status patch", "pods list", "pods watch", "events create", "events patch"])
    }

    @Test func theBindingGivesTheRoleToTheDaemonSetsServiceAccount() throws {
        let binding = try KubernetesManifestTests.yaml("\(Self.directory)/clusterrolebinding.yaml")
        let account = try KubernetesManifestTests.yaml("\(Self.directory)/serviceaccount.yaml")
        let daemonSet = try KubernetesManifestTests.yaml("\(Self.directory)/daemonset.yaml")
        #expect((binding["roleRef"] as? [String: Any])?["name"] as? String == "pathwatch")
        let subject = try #require((binding["subjects"] as? [[String: Any]])?.first)
        let accountMeta = try #require(account["metadata"] as? [String: Any])
        #expect(subject["name"] as? String == accountMeta["name"] as? String)
        #expect(subject["namespace"] as? String == accountMeta["namespace"] as? String)
        let spec = try #require(((daemonSet["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(spec["serviceAccountName"] as? String == accountMeta["name"] as? String)
        #expect(spec["automountServiceAccountToken"] as? Bool == true)
        #expect(account["automountServiceAccountToken"] as? Bool == true)
    }

    @Test func theNodeNameComesFromTheDownwardAPIAndReportingIsOn() throws {
        let daemonSet = try KubernetesManifestTests.yaml("\(Self.directory)/daemonset.yaml")
        let spec = try #require(((daemonSet["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])
        let container = try #require((spec["containers"] as? [[String: Any]])?.first)
        let env = try #require(container["env"] as? [[String: Any]])
        let nodeName = try #require(env.first { $0["name"] as? String == "NODE_NAME" })
        let field = ((nodeName["valueFrom"] as? [String: Any])?["fieldRef"] as? [String: Any])?["fieldPath"] as? String
        #expect(field == "spec.nodeName")
        let config = try ConfigParser.parse(try Tool.read("\(Self.directory)/config.yaml"), file: "config.yaml")
        #expect(config.kubernetes.enabled)
        #expect(config.kubernetes.kubeconfig == nil, "in the cluster the agent uses its service account")
    }
}
