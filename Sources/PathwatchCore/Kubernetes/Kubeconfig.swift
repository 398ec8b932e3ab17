import FoundationEssentials
import SystemPackage

/// Where the API server is and how to prove who we are, read from a standard kubeconfig file
/// (the current context's cluster and user) or from the in-cluster service account.
public struct KubernetesAccess: Sendable, Equatable {
    /// `https://HOST[:PORT]`, no path.
    public var server: String
    /// PEM bytes or a file holding them; `nil` means the system's trust roots.
    public var certificateAuthority: PEMSource?
    public var credentials: Credentials

    public enum PEMSource: Sendable, Equatable {
        case file(String)
        case data([UInt8])
    }

    public enum Credentials: Sendable, Equatable {
        case none
        case token(String)
        /// Read again whenever the file changes: projected service-account tokens rotate.
        case tokenFile(String)
        case clientCertificate(certificate: PEMSource, key: PEMSource)
    }

    public init(server: String, certificateAuthority: PEMSource?, credentials: Credentials) {
        self.server = server
        self.certificateAuthority = certificateAuthority
        self.credentials = credentials
    }

    public static let serviceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// The in-cluster service account, as client-go's `InClusterConfig` finds it; `nil` outside
    /// a pod (no `KUBERNETES_SERVICE_HOST`).
    public static func inCluster(environment: [String: String], directory: String = serviceAccountDirectory) -> KubernetesAccess? {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else { return nil }
        let port = environment["KUBERNETES_SERVICE_PORT"].flatMap { $0.isEmpty ? nil : $0 } ?? "443"
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return KubernetesAccess(
            server: "https://\(bracketed):\(port)", certificateAuthority: .file(directory + "/ca.crt"),
            credentials: .tokenFile(directory + "/token"))
    }
}

/// Reads a kubeconfig file's current context. Keys pathwatch does not use are ignored (kubeconfigs
/// carry preferences and extensions); what it cannot honour (exec plugins, skipping TLS
/// verification, plain http) is an error naming the key, never a silent downgrade.
public enum KubeconfigParser {
    public static func parse(_ text: String, file: String) throws(ConfigError) -> KubernetesAccess {
        let root: YAMLNode?
        do {
            root = try YAMLTree.compose(text)
        } catch {
            throw ConfigError(
                file: file, line: error.mark?.line, column: error.mark?.column, message: "not a valid kubeconfig (YAML): \(error.problem)")
        }
        guard let root, case .mapping(let top) = root else {
            throw ConfigError(file: file, message: "not a kubeconfig: expected a mapping")
        }
        let directory = FilePath(file).removingLastComponent()
        func fail(_ node: YAMLNode?, _ key: String, _ message: String) -> ConfigError {
            ConfigError(file: file, line: node?.mark?.line, column: node?.mark?.column, key: key, message: message)
        }
        func named(_ listKey: String, _ name: String?, _ inner: String) throws(ConfigError) -> (YAMLNode.Mapping, String) {
            guard let list = top[listKey], case .sequence(let items) = list else { throw fail(top[listKey], listKey, "expected a list") }
            let chosen = items.first { item in name == nil || item.mapping?["name"]?.string == name }
            guard let chosen else { throw fail(list, listKey, "no entry named '\(name ?? "")'") }
            let entryName = chosen.mapping?["name"]?.string ?? ""
            guard let body = chosen.mapping?[inner], case .mapping(let mapping) = body else {
                throw fail(chosen, "\(listKey)[\(entryName)].\(inner)", "expected a mapping")
            }
            return (mapping, "\(listKey)[\(entryName)].\(inner)")
        }
        let current = top["current-context"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        let (context, _) = try named("contexts", current, "context")
        let (cluster, clusterPath) = try named("clusters", context["cluster"]?.string, "cluster")
        guard let server = cluster["server"]?.string, server.hasPrefix("https://") else {
            throw fail(cluster["server"], clusterPath + ".server", "expected an https:// URL (plain http is refused)")
        }
        if cluster["insecure-skip-tls-verify"]?.string == "true" {
            throw fail(
                cluster["insecure-skip-tls-verify"], clusterPath + ".insecure-skip-tls-verify",
                "pathwatch always verifies the API server's certificate")
        }
        func pem(_ map: YAMLNode.Mapping, _ key: String, _ path: String) throws(ConfigError) -> KubernetesAccess.PEMSource? {
            if let data = map[key + "-data"]?.string {
                guard let bytes = Data(base64Encoded: data.filter { !$0.isWhitespace }) else {
                    throw fail(map[key + "-data"], "\(path).\(key)-data", "not valid base64")
                }
                return .data(Array(bytes))
            }
            guard let file = map[key]?.string, !file.isEmpty else { return nil }
            return .file(directory.pushing(FilePath(file)).string)
        }
        let authority = try pem(cluster, "certificate-authority", clusterPath)
        var credentials = KubernetesAccess.Credentials.none
        if let user = context["user"]?.string {
            let (u, userPath) = try named("users", user, "user")
            if u["exec"] != nil || u["auth-provider"] != nil {
                throw fail(
                    u["exec"] ?? u["auth-provider"], userPath,
                    "exec and auth-provider plugins are not supported: use a token, tokenFile or client certificate")
            }
            if let token = u["token"]?.string, !token.isEmpty {
                credentials = .token(token)
            } else if let file = u["tokenFile"]?.string, !file.isEmpty {
                credentials = .tokenFile(directory.pushing(FilePath(file)).string)
            } else if let certificate = try pem(u, "client-certificate", userPath) {
                guard let key = try pem(u, "client-key", userPath) else {
                    throw fail(
                        u["client-certificate"] ?? u["client-certificate-data"], userPath + ".client-key",
                        "a client certificate needs client-key or client-key-data")
                }
                credentials = .clientCertificate(certificate: certificate, key: key)
            }
        }
        return KubernetesAccess(server: server.trimmingSuffix("/"), certificateAuthority: authority, credentials: credentials)
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        var s = self
        while s.hasSuffix(suffix) { s.removeLast(suffix.count) }
        return s
    }
}
