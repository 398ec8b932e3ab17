import FoundationEssentials
import Logging
import NIOCore
import PathwatchCore
import ServiceLifecycle

/// `kubernetes.enabled`: the node reporter and the pod watcher over one API client, as one
/// service so the client is shut down after both have stopped.
public final class KubernetesReporting: Service {
    public let node: String
    /// Empty unless `kubernetes.podNames`; give it to the evidence that names pods.
    public let podNames = PodNames()
    private let client: KubernetesClient
    private let reporter: NodeReporter?
    private let watcher: PodWatcher?

    /// `nil` when off. A kubeconfig that cannot be read or used is refused here, at start-up,
    /// naming the file and key; a token file that is missing now may appear later (retried).
    public init?(
        config: AgentConfig, findings: FindingsRegistry, modelReady: @escaping @Sendable () -> Bool, metrics: AgentMetrics,
        eventLoopGroup: any EventLoopGroup, environment: [String: String] = ProcessInfo.processInfo.environment,
        hostName: String = ProcessInfo.processInfo.hostName, logger: Logger
    ) throws(ConfigError) {
        let settings = config.kubernetes
        guard settings.enabled else { return nil }
        let access = try Self.access(settings, environment: environment)
        node = try Self.nodeName(settings, environment: environment, hostName: hostName)
        do {
            client = try KubernetesClient(
                access: access, metrics: KubernetesMetrics(registry: metrics.registry), timeoutSeconds: settings.timeoutSeconds,
                eventLoopGroup: eventLoopGroup)
        } catch {
            throw ConfigError(
                file: settings.kubeconfig ?? "in-cluster service account", key: "kubernetes.kubeconfig", message: error.description)
        }
        reporter =
            settings.conditions || settings.events
            ? NodeReporter(
                client: client, node: node, settings: settings, firstWindow: .milliseconds(Int64(config.firstFullWindowSeconds * 1000)),
                findings: findings, modelReady: modelReady, logger: logger)
            : nil
        watcher = settings.podNames ? PodWatcher(client: client, node: node, names: podNames, logger: logger) : nil
    }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            if let reporter { group.addTask { try? await reporter.run() } }
            if let watcher { group.addTask { try? await watcher.run() } }
        }
        await client.shutdown()
    }

    static func access(_ settings: AgentConfig.KubernetesSettings, environment: [String: String]) throws(ConfigError) -> KubernetesAccess {
        if let file = settings.kubeconfig {
            // Bounded like the configuration (4 MiB): a wrong path (a log, a device) is refused,
            // not read into memory whole.
            let text: String
            do {
                text = try TextFile.read(file)
            } catch {
                throw ConfigError(file: file, key: "kubernetes.kubeconfig", message: "cannot read the kubeconfig file: \(error)")
            }
            return try KubeconfigParser.parse(text, file: file)
        }
        guard let inCluster = KubernetesAccess.inCluster(environment: environment) else {
            throw ConfigError(
                file: "configuration", key: "kubernetes.kubeconfig",
                message: "needed outside a pod: KUBERNETES_SERVICE_HOST is not set, so there is no in-cluster service account")
        }
        return inCluster
    }

    /// `kubernetes.nodeName`, else `$NODE_NAME` (the downward API), else the host name.
    static func nodeName(_ settings: AgentConfig.KubernetesSettings, environment: [String: String], hostName: String) throws(ConfigError)
        -> String
    {
        let name = settings.nodeName ?? environment["NODE_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? hostName.lowercased()
        guard KubernetesName.isValidNodeName(name) else {
            throw ConfigError(
                file: "configuration", key: "kubernetes.nodeName", value: name,
                message: "not a Kubernetes node name; set kubernetes.nodeName or NODE_NAME")
        }
        return name
    }
}
