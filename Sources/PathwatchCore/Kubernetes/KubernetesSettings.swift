extension AgentConfig {
    /// `kubernetes:`: findings reported where cluster operators look (node conditions, Events)
    /// and pod names in hairpin evidence. Off unless enabled; docs/configuration.md.
    public struct KubernetesSettings: Sendable, Equatable {
        public var enabled = false
        /// A kubeconfig file; `nil` means the in-cluster service account (when
        /// `KUBERNETES_SERVICE_HOST` is set).
        public var kubeconfig: String?
        /// The Node to report on; `nil` means `$NODE_NAME`, then the host name.
        public var nodeName: String?
        public var conditions = true
        public var events = true
        public var podNames = true
        /// An unchanged condition is re-sent (its `lastHeartbeatTime`) at most this often.
        public var heartbeatSeconds = 300.0
        /// Connect plus answer, per API request (a watch waits longer for its next line).
        public var timeoutSeconds = 10.0
        public init() {}
    }
}

extension AgentConfig {
    /// How long the detectors watch after start-up before "no finding" means healthy: the
    /// longest window an enabled detector needs before it can open a finding.
    public var firstFullWindowSeconds: Double {
        var window = max(hairpin.windowSeconds, liveTrafficScanSeconds * 2)
        if paths.enabled { window = max(window, paths.windowSeconds + paths.sustainSeconds) }
        return window
    }
}
