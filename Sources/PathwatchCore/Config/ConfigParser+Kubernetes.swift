extension Reader {
    /// `kubernetes:`: strict like the rest; a node name must be a valid Kubernetes object name.
    func kubernetes(_ node: YAMLNode) throws(ConfigError) -> AgentConfig.KubernetesSettings {
        var k = AgentConfig.KubernetesSettings()
        for (sub, v) in try mapping(node, "kubernetes") {
            let path = "kubernetes.\(sub.name)"
            switch sub.name {
            case "enabled": k.enabled = try bool(v, path)
            case "kubeconfig":
                let file = try string(v, path)
                guard file.hasPrefix("/") else { throw error(v, path, file, "expected an absolute path to a kubeconfig file") }
                k.kubeconfig = file
            case "nodeName":
                let name = try string(v, path)
                guard KubernetesName.isValidNodeName(name) else {
                    throw error(v, path, name, "expected a Kubernetes node name (lower-case letters, digits, '-' and '.', at most 253)")
                }
                k.nodeName = name
            case "conditions": k.conditions = try bool(v, path)
            case "events": k.events = try bool(v, path)
            case "podNames": k.podNames = try bool(v, path)
            case "heartbeatSeconds": k.heartbeatSeconds = try seconds(v, path, 10...86_400)
            case "timeoutSeconds": k.timeoutSeconds = try seconds(v, path, 0.5...120)
            default: throw unknown(sub, path)
            }
        }
        return k
    }
}

/// Kubernetes object names (RFC 1123 subdomains), checked before they go into a URL path.
public enum KubernetesName {
    public static func isValidNodeName(_ name: String) -> Bool {
        guard (1...253).contains(name.utf8.count) else { return false }
        let allowed = name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E }
        guard allowed, let first = name.utf8.first, let last = name.utf8.last else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
        return alnum(first) && alnum(last)
    }
}
