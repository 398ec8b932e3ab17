import Logging
import Netlink
import NetlinkIO
import PathwatchCore
import ServiceLifecycle

/// Finds missing subnet routes and, as the auto-fix mode allows, repairs them.
///
/// Re-evaluates whenever the model changes (any link, address, route or rule event), the mode
/// changes or the configuration is reloaded, plus once a minute as a safety net; checks the
/// gateways and the on-link signature when the unanswered neighbour entries change (every
/// second only while it times one); otherwise sleeps (``SubnetRouteWakeSchedule``). Each evaluation
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
        var schedule = SubnetRouteWakeSchedule()
        schedule.lastScan = clock.now
        var onLink = OnLinkNeighbourScan()
        while !thread.isStopping {
            // Sleeps until a change or the next thing due (the schedule names each periodic wake;
            // an idle node's agent wakes only for the live-traffic scan and the safety net). A
            // stop ends the wait at once: the thread's stop notifies the change signal.
            let scanSeconds = configuration().liveTrafficScanSeconds
            schedule.scanPeriod = conntrack != nil && scanSeconds > 0 ? .milliseconds(Int64(scanSeconds * 1000)) : nil
            let woke = state.changes.wait(seconds: Self.seconds(schedule.nextWake(now: clock.now) - clock.now))
            schedule.ready = state.pendingParts.isDisjoint(with: [RtnetlinkWatcher.readinessPart])
            guard !thread.isStopping, schedule.ready else { continue }
            if !woke.isEmpty { schedule.checkPending = true }
            if woke.contains(.model) || schedule.evaluationDue(now: clock.now) {
                evaluate(table, &reconciler, now: clock.now)
                schedule.lastEvaluation = clock.now
                schedule.retry = reconciler.engine.history.nextRetry
                schedule.checkPending = true
            }
            // Neighbour states change without a route event: the gateways and the on-link
            // signature are read from the model's neighbour view (no syscall).
            if schedule.checkDue(now: clock.now) {
                let (neighbours, candidates) = state.read { ($0.neighbours, OnLinkNeighbourScan.candidates(in: $0)) }
                for event in reconciler.checkGateways(at: clock.now, neighbours: neighbours) { handle(event, names: [:]) }
                report(
                    onLink.tick(candidates, at: clock.now) {
                        table.lookup(to: $0, from: $1)
                    } onLinkRoute: { [state] candidate in
                        state.read { OnLinkNeighbourScan.onLinkRoute(for: candidate, in: $0) }
                    })
                schedule.lastCheck = clock.now
                schedule.checkPending = false
            }
            schedule.watching = reconciler.engine.isWatchingGateways || onLink.isWaiting
            if let conntrack, schedule.scanDue(now: clock.now) {
                live.scan(conntrack, table)
                schedule.lastScan = clock.now
            }
        }
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return max(0.001, Double(seconds) + Double(attoseconds) / 1e18)
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
