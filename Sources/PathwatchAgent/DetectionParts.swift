import Logging
import PathwatchCore
import ServiceLifecycle

/// The parts that watch the kernel and detect problems, shared by `pathwatch run` (with the
/// HTTP endpoint, the control socket and SIGHUP around them) and `pathwatch doctor` (alone, for
/// a few seconds, with auto-fix forced off).
public struct DetectionParts: Sendable {
    public let state: LiveNodeState
    public let metrics: AgentMetrics
    public let findings: FindingsRegistry
    public let conntrack: LiveConntrackTable?
    public let autofix: AutofixSwitch
    public let discovered: DiscoveredSubnetRoutes
    public let subnetRouteCollector: SubnetRouteCollector

    public init(config: AgentConfig, metrics: AgentMetrics, logger: Logger) {
        var required: Set<String> = [RtnetlinkWatcher.readinessPart]
        if config.conntrack.enabled { required.insert(ConntrackWatcher.readinessPart) }
        state = LiveNodeState(requiredParts: required)
        self.metrics = metrics
        findings = FindingsRegistry()
        conntrack = config.conntrack.enabled ? LiveConntrackTable() : nil
        autofix = AutofixSwitch(config.autofix, metrics: metrics, logger: logger, notify: state.changes)
        discovered = DiscoveredSubnetRoutes(notify: state.changes)
        subnetRouteCollector = SubnetRouteCollector(discovered: discovered)
        metrics.register(subnetRouteCollector)
    }

    /// The watchers and detectors; `configuration` gives the configuration in force (it changes
    /// on SIGHUP in `run`).
    ///
    /// `installProbe` false (doctor) keeps the node untouched: no nftables table of the agent's.
    public func services(
        config: AgentConfig, configuration: @escaping @Sendable () -> AgentConfig, installProbe: Bool = true, logger: Logger
    ) -> [any Service] {
        var services: [any Service] = [
            RtnetlinkWatcher(state: state, metrics: metrics, receiveBufferBytes: config.netlink.receiveBufferBytes, logger: logger)
        ]
        if let conntrack {
            services.append(
                ConntrackWatcher(
                    table: conntrack, state: state, metrics: metrics, settings: config.conntrack, hairpin: config.hairpin,
                    findings: findings,
                    logger: logger))
        }
        services.append(
            SelfSourcedSynWatcher(
                settings: config.hairpin, installProbe: installProbe, state: state, findings: findings, metrics: metrics, logger: logger))
        if config.paths.enabled {
            services.append(PathSampler(settings: config.paths, state: state, metrics: metrics, findings: findings, logger: logger))
        }
        services.append(
            MetadataDiscovery(state: state, discovered: discovered, configuration: configuration, logger: logger))
        services.append(
            SubnetRouteRepairer(
                state: state, autofix: autofix, configuration: configuration, discovered: discovered, conntrack: conntrack,
                findings: findings,
                collector: subnetRouteCollector, logger: logger))
        return services
    }
}
