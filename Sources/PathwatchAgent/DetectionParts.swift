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
    /// Which conntrack events cross into user space, kept in step with the model.
    public let conntrackSelector: ConntrackEventSelector?
    public let autofix: AutofixSwitch
    public let discovered: DiscoveredSubnetRoutes
    /// Notified by the configuration reloader; metadata discovery waits on it while it is off.
    public let configurationChanges = ConfigurationChanges()
    /// The pod-hairpin slice (a conntrack consumer); nil while conntrack is off.
    public let hairpin: HairpinService?
    public let selfSourcedSyn: SelfSourcedSynSlice
    public let subnetRouteCollector: SubnetRouteCollector

    public init(config: AgentConfig, metrics: AgentMetrics, logger: Logger) {
        var required: Set<String> = [RtnetlinkWatcher.readinessPart]
        if config.conntrack.enabled { required.insert(ConntrackWatcher.readinessPart) }
        state = LiveNodeState(requiredParts: required)
        self.metrics = metrics
        findings = FindingsRegistry()
        conntrack = config.conntrack.enabled ? LiveConntrackTable(maxFlows: config.conntrack.maxTrackedFlows) : nil
        conntrackSelector =
            config.conntrack.enabled ? ConntrackEventSelector(kernelFilter: config.conntrack.kernelFilter, logger: logger) : nil
        autofix = AutofixSwitch(config.autofix, metrics: metrics, logger: logger, notify: state.changes)
        discovered = DiscoveredSubnetRoutes(notify: state.changes)
        hairpin =
            config.conntrack.enabled ? HairpinService(settings: config.hairpin, state: state, findings: findings, logger: logger) : nil
        selfSourcedSyn = SelfSourcedSynSlice(settings: config.hairpin)
        metrics.register(hairpin.map { HairpinCollector($0) } ?? HairpinCollector(statistics: { HairpinEngine.Statistics() }))
        metrics.register(SelfSourcedSynCollector(selfSourcedSyn))
        if let conntrack, let conntrackSelector {
            metrics.register(ConntrackSelectionCollector(table: conntrack, selector: conntrackSelector))
        }
        subnetRouteCollector = SubnetRouteCollector(discovered: discovered)
        metrics.register(subnetRouteCollector)
        metrics.register(NeighbourViewCollector(view: { [state] in state.read { $0.neighbours.summary } }))
    }

    /// The watchers and detectors; `configuration` gives the configuration in force (it changes
    /// on SIGHUP in `run`).
    ///
    /// `installProbe` false (doctor) keeps the node untouched: no nftables table of the agent's.
    public func services(
        config: AgentConfig, configuration: @escaping @Sendable () -> AgentConfig, installProbe: Bool = true, logger: Logger
    ) -> [any Service] {
        var services: [any Service] = [
            RtnetlinkWatcher(
                state: state, metrics: metrics, receiveBufferBytes: config.netlink.receiveBufferBytes, conntrackSelector: conntrackSelector,
                logger: logger),
            NeighbourWatcher(state: state, metrics: metrics, receiveBufferBytes: config.netlink.receiveBufferBytes, logger: logger),
        ]
        if let conntrack, let conntrackSelector {
            services.append(
                ConntrackWatcher(
                    table: conntrack, selector: conntrackSelector, state: state, metrics: metrics, settings: config.conntrack,
                    consumers: hairpin.map { [$0] } ?? [],
                    logger: logger))
        }
        services.append(
            SelfSourcedSynWatcher(
                settings: config.hairpin, installProbe: installProbe, state: state, slice: selfSourcedSyn, findings: findings,
                logger: logger, podHairpin: hairpin))
        if config.paths.enabled {
            services.append(PathSampler(settings: config.paths, state: state, metrics: metrics, findings: findings, logger: logger))
        }
        services.append(
            MetadataDiscovery(
                state: state, discovered: discovered, configuration: configuration, changes: configurationChanges, logger: logger))
        services.append(
            SubnetRouteRepairer(
                state: state, autofix: autofix, configuration: configuration, discovered: discovered, conntrack: conntrack,
                findings: findings,
                collector: subnetRouteCollector, logger: logger))
        return services
    }
}
