import Logging
import Netlink
import NetlinkIO
import PathwatchCore
import ServiceLifecycle

/// Finds missing subnet routes and, as the auto-fix mode allows, repairs them.
///
/// Re-evaluates whenever the model changes (any link, address, route or rule event), the mode
/// changes or the configuration is reloaded, plus once a minute as a safety net. Each evaluation
/// asks the kernel's own route lookup where traffic from each interface address would go, has
/// the pure ``SubnetRoutePlanner`` plan and the ``SubnetRouteReconciler`` decide and apply, then
/// turns the typed events into findings and log lines. Only pathwatch-owned routes and rules
/// are ever touched.
public final class SubnetRouteRepairer: Service {
    let state: LiveNodeState
    let autofix: AutofixSwitch
    let configuration: @Sendable () -> AgentConfig
    let discovered: DiscoveredSubnetRoutes
    let conntrack: LiveConntrackTable?
    let findings: FindingsRegistry
    let collector: SubnetRouteCollector
    let logger: Logger
    private let thread = WatcherThread(name: "subnet-routes")

    public init(
        state: LiveNodeState, autofix: AutofixSwitch, configuration: @escaping @Sendable () -> AgentConfig,
        discovered: DiscoveredSubnetRoutes, conntrack: LiveConntrackTable?, findings: FindingsRegistry, collector: SubnetRouteCollector,
        logger: Logger
    ) {
        self.discovered = discovered
        self.conntrack = conntrack
        self.state = state
        self.autofix = autofix
        self.configuration = configuration
        self.findings = findings
        self.collector = collector
        self.logger = logger
    }

    public func run() async throws {
        thread.alsoOnStop { [state] in state.changes.notify() }
        thread.startSupervised(logger: logger) { [self] thread in try session(thread) }
        await thread.runUntilShutdown()
    }

    private func session(_ thread: WatcherThread) throws {
        let table = try KernelRouteTable()
        var reconciler = SubnetRouteReconciler(client: table)
        var live = LiveTrafficRouteScanner(state: state, findings: findings, logger: logger)
        let clock = ContinuousClock()
        var lastEvaluation: ContinuousClock.Instant?
        var lastScan = clock.now
        var lastGatewayCheck: ContinuousClock.Instant?
        var onLink = OnLinkNeighbourScan()
        while !thread.isStopping {
            // A change, the end of a repair's backoff or a minute of quiet triggers an evaluation;
            // the wait is a second (the gateways' neighbour check), and a stop ends it at once
            // (the thread's stop notifies the change signal).
            let changed = state.changes.wait(seconds: 1)
            guard !thread.isStopping, state.pendingParts.isDisjoint(with: [RtnetlinkWatcher.readinessPart]) else { continue }
            // A backoff that ended since the last evaluation (only once: an expectation that then
            // turns into a conflict or meets auto-fix off keeps its old retry time).
            let retryDue =
                reconciler.engine.history.nextRetry.map { retry in
                    clock.now >= retry && lastEvaluation.map { $0 < retry } ?? true
                } ?? false
            if changed || retryDue || lastEvaluation.map({ clock.now - $0 > .seconds(60) }) ?? true {
                evaluate(table, &reconciler, now: clock.now)
                lastEvaluation = clock.now
            }
            // Neighbour states change without a route event: read the model's neighbour view (no
            // syscall) for the gateways and the on-link signature every second.
            if lastGatewayCheck.map({ clock.now - $0 >= .seconds(1) }) ?? true {
                let (neighbours, candidates) = state.read { ($0.neighbours, OnLinkNeighbourScan.candidates(in: $0)) }
                for event in reconciler.checkGateways(at: clock.now, neighbours: neighbours) { handle(event, names: [:]) }
                report(
                    onLink.tick(candidates, at: clock.now) {
                        table.lookup(to: $0, from: $1)
                    } onLinkRoute: { [state] candidate in
                        state.read { OnLinkNeighbourScan.onLinkRoute(for: candidate, in: $0) }
                    })
                lastGatewayCheck = clock.now
            }
            let scanInterval = configuration().liveTrafficScanSeconds
            if let conntrack, scanInterval > 0, clock.now - lastScan >= .seconds(scanInterval) {
                live.scan(conntrack, table)
                lastScan = clock.now
            }
        }
    }

    private func evaluate(
        _ table: KernelRouteTable, _ reconciler: inout SubnetRouteReconciler<KernelRouteTable>, now: ContinuousClock.Instant
    ) {
        let config = configuration()
        let wanted = discovered.merged(with: config)
        let (expectations, names) = state.read { model in
            (
                SubnetRouteExpectation.all(in: model, subnetRoutes: wanted.subnetRoutes, gateways: wanted.gateways),
                model.links.mapValues(\.name)
            )
        }
        var lookups: [String: RouteLookupOutcome] = [:]
        for e in expectations { lookups[e.key] = table.lookup(to: e.probe, from: e.source) }
        let plan = state.read { SubnetRoutePlanner.plan(expectations: expectations, lookups: lookups, state: $0, settings: config.repair) }
        let context = SubnetRouteReconciler<KernelRouteTable>.Context(
            settings: config.repair, names: names,
            sourcesSettled: discovered.status.isSettled(enabled: config.discovery.metadata, at: now),
            mode: { [autofix] in autofix.current }, likelyCause: { RouteManagerDetector.likelyCause() }, now: now,
            neighbours: state.read { $0.neighbours })
        let events = reconciler.evaluate(plan, context)
        for event in events { handle(event, names: names) }
        collector.publish(reconciler.engine.statistics)
    }
}
