import Foundation
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
/// the pure ``SubnetRoutePlanner`` decide, and then reports, logs (dry-run) or applies (on).
/// Every change is an audit log line; only pathwatch-owned routes and rules are ever touched.
public final class SubnetRouteRepairer: Service {
    private let state: LiveNodeState
    private let autofix: AutofixSwitch
    private let configuration: @Sendable () -> AgentConfig
    private let discovered: DiscoveredSubnetRoutes
    private let conntrack: LiveConntrackTable?
    private let findings: FindingsRegistry
    private let metrics: AgentMetrics
    private let logger: Logger
    private let thread = WatcherThread(name: "subnet-routes")

    public init(
        state: LiveNodeState, autofix: AutofixSwitch, configuration: @escaping @Sendable () -> AgentConfig,
        discovered: DiscoveredSubnetRoutes, conntrack: LiveConntrackTable?, findings: FindingsRegistry, metrics: AgentMetrics,
        logger: Logger
    ) {
        self.discovered = discovered
        self.conntrack = conntrack
        self.state = state
        self.autofix = autofix
        self.configuration = configuration
        self.findings = findings
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        thread.startSupervised(logger: logger) { [self] thread in try session(thread) }
        await thread.runUntilShutdown()
    }

    private func session(_ thread: WatcherThread) throws {
        let client = try RouteClient()
        var memory = EvaluationMemory(settings: configuration().repair)
        var lastEvaluation = Date.distantPast
        var lastScan = Date()
        var live = LiveScanMemory()
        while !thread.isStopping {
            // Short waits so a stop request is noticed promptly; a change or a minute of quiet
            // triggers an evaluation.
            let changed = state.changes.wait(seconds: 0.25)
            guard !thread.isStopping, state.pendingParts.isDisjoint(with: [RtnetlinkWatcher.readinessPart]) else { continue }
            if changed || Date().timeIntervalSince(lastEvaluation) > 60 {
                try evaluate(client, &memory)
                lastEvaluation = Date()
            }
            let scanInterval = configuration().liveTrafficScanSeconds
            if let conntrack, scanInterval > 0, Date().timeIntervalSince(lastScan) >= scanInterval {
                scanLiveTraffic(conntrack, client, &live)
                lastScan = Date()
            }
        }
    }

    /// What the repairer remembers between evaluations.
    struct EvaluationMemory {
        var history: RepairHistory
        var open: Set<String> = []
        /// Results counted once per episode, not once per evaluation.
        var reported: Set<String> = []

        init(settings: AgentConfig.RepairSettings) {
            history = RepairHistory(maxInstallsPerWindow: settings.maxInstallsPerWindow, window: settings.windowSeconds)
        }

        mutating func once(_ tag: String) -> Bool { reported.insert(tag).inserted }
    }

    private func evaluate(_ client: RouteClient, _ memory: inout EvaluationMemory) throws {
        let config = configuration()
        let wanted = discovered.merged(with: config)
        let (expectations, names) = state.read { model in
            (
                SubnetRouteExpectation.all(in: model, subnetRoutes: wanted.subnetRoutes, gateways: wanted.gateways),
                model.links.mapValues(\.name)
            )
        }
        var lookups: [String: RouteLookupOutcome] = [:]
        for expectation in expectations { lookups[expectation.key] = lookup(client, expectation) }
        let plan = state.read { SubnetRoutePlanner.plan(expectations: expectations, lookups: lookups, state: $0, settings: config.repair) }
        let mode = autofix.current
        let now = Date()
        var gauges: [AgentMetrics.MissingRouteLabels: Bool] = [:]
        var applied: Set<RouteChange> = []

        for item in plan.items {
            let e = item.expectation
            let key = e.key
            gauges[AgentMetrics.MissingRouteLabels(interface: e.interface, destination: "\(e.destination)", gateway: "\(e.gateway)")] =
                item.isMissing
            guard case .missing(let observed) = item.status else {
                let ours = state.read { model in
                    SubnetRoutePlanner.fixObjects(for: e, settings: config.repair).contains { change in
                        if case .addRoute(let route) = change { return model.routes[route.key]?.protocolID == .pathwatch }
                        return false
                    }
                }
                memory.history.recordHolding(key, throughPathwatchRoute: ours)
                memory.reported = memory.reported.filter { !$0.hasSuffix("|" + key) }
                if memory.open.remove(key) != nil, findings.clear(kind: .missingSubnetRoute, key: key) != nil {
                    logger.notice(
                        "subnet route holds again; finding closed",
                        metadata: ["interface": "\(e.interface)", "destination": "\(e.destination)"])
                }
                continue
            }
            if memory.history.recordMissing(key) {
                metrics.countRepairRemoved()
                logger.warning(
                    "a route pathwatch installed was removed by someone else",
                    metadata: [
                        "interface": "\(e.interface)", "destination": "\(e.destination)",
                        "removals": "\(memory.history.entry(key).removals)",
                    ])
            }
            var repairState = "reported"
            var cause: String?
            let commands = item.fix.map { $0.command(names: names) }
            switch mode {
            case .off:
                repairState = "auto-fix off"
            case .dryRun:
                repairState = "dry-run"
                if memory.once("dry-run|\(commands)|" + key) {
                    metrics.countRepair(.dryRun)
                    for command in commands {
                        logger.notice("dry-run: would run", metadata: ["command": "\(command)", "interface": "\(e.interface)"])
                    }
                }
            case .on:
                if let conflict = item.conflict {
                    repairState = "conflict"
                    cause = conflict
                    if memory.once("conflict|" + key) {
                        metrics.countRepair(.conflict)
                        logger.warning(
                            "not repairing: \(conflict)", metadata: ["interface": "\(e.interface)", "destination": "\(e.destination)"])
                    }
                } else if memory.history.isFlapping(key, at: now) {
                    repairState = "flapping"
                    cause = RouteManagerDetector.likelyCause()
                    if memory.once("flapping|" + key) {
                        metrics.countRepair(.flapping)
                        logger.error(
                            "repair does not hold; pathwatch stops re-installing it",
                            metadata: ["interface": "\(e.interface)", "destination": "\(e.destination)", "likely_cause": "\(cause!)"])
                    }
                } else if !item.fix.isEmpty {
                    repairState = repair(item, client, names: names, applied: &applied, history: &memory.history, at: now)
                }
            }
            let opened = findings.report(
                kind: .missingSubnetRoute, key: key, summary: summary(e, observed: observed, state: repairState),
                evidence: evidence(
                    e, observed: observed, mode: mode, repairState: repairState, cause: cause, removals: memory.history.entry(key).removals),
                remediation: remediation(commands: commands, item: item), at: now, occurrences: memory.open.contains(key) ? 0 : 1)
            if opened {
                logger.warning(
                    "missing subnet route",
                    metadata: [
                        "interface": "\(e.interface)", "destination": "\(e.destination)", "observed": "\(observed)",
                        "fix": "\(commands.joined(separator: "; "))",
                    ])
            }
            memory.open.insert(key)
        }

        // Findings of expectations that no longer exist (config changed, interface gone).
        let current = Set(plan.items.map(\.expectation.key))
        for key in memory.open.subtracting(current) {
            findings.clear(kind: .missingSubnetRoute, key: key)
            memory.open.remove(key)
        }
        memory.history.retain(only: current)
        metrics.setMissingSubnetRoutes(gauges)

        if mode == .on {
            for change in plan.cleanup { cleanUp(change, client, names: names) }
        }
    }

    struct LiveScanMemory {
        var unreplied: Set<UInt32> = []
        var open: Set<String> = []
    }

    /// Reports flows from one interface's address that get no reply and that the kernel routes
    /// out of another interface: the incident seen in live traffic, without any configuration.
    /// Report-only: pathwatch does not guess which subnet to route from a single destination.
    private func scanLiveTraffic(_ conntrack: LiveConntrackTable, _ client: RouteClient, _ memory: inout LiveScanMemory) {
        // Read under the locks rather than copying the model: a copy held while the watcher
        // applies an event would duplicate a million-route table. Lock order: model, then table.
        let previous = memory.unreplied
        let (candidates, unreplied, names, subnets) = state.read { model in
            let (candidates, unreplied) = conntrack.read { table in
                UnrepliedFlowScan.candidates(table: table, previouslyUnreplied: previous, state: model)
            }
            let sources = Set(candidates.map(\.source))
            let subnets = Dictionary(
                model.addresses.values.filter { sources.contains($0.address) }.map { ($0.address, $0.subnet) },
                uniquingKeysWith: { a, _ in a })
            return (candidates, unreplied, model.links.mapValues(\.name), subnets)
        }
        memory.unreplied = unreplied
        var seen: Set<String> = []
        let now = Date()
        for candidate in candidates {
            let outcome: RouteLookupOutcome
            do {
                let route = try client.lookup(to: candidate.destination, from: candidate.source)
                outcome = .route(interface: route.outputInterface, gateway: route.gateway, table: route.table)
            } catch {
                continue
            }
            guard UnrepliedFlowScan.isMisrouted(candidate, lookup: outcome), case .route(let out, let via, _) = outcome else { continue }
            let key = "live \(candidate.interface) \(candidate.destination)"
            seen.insert(key)
            let leaves = out.map { names[$0] ?? "if\($0.rawValue)" } ?? "?"
            let subnet = subnets[candidate.source]
            let gateway = subnet?.firstHost.description ?? "the subnet gateway"
            let host = IPPrefix(address: candidate.destination, length: candidate.destination.bitWidth)
            let opened = findings.report(
                kind: .missingSubnetRoute, key: key,
                summary:
                    "\(candidate.flows) unreplied flow(s) from \(candidate.interface) (\(candidate.source)) to \(candidate.destination) leave by \(leaves)\(via.map { " via \($0)" } ?? ""), not by \(candidate.interface): the reply path is likely dropped (seen in live traffic)",
                evidence: [
                    "interface": .string(candidate.interface), "source": .string("\(candidate.source)"),
                    "destination": .string("\(candidate.destination)"), "unrepliedFlows": .number(Double(candidate.flows)),
                    "lookup": .string("ip route get \(candidate.destination) from \(candidate.source): leaves by \(leaves)"),
                    "origin": .string("conntrack"),
                ],
                remediation: [
                    "text": .string(
                        "Route the peer's subnet via \(candidate.interface)'s own subnet gateway, or declare it under subnetRoutes so pathwatch checks (and with auto-fix on, repairs) it."
                    ),
                    "commands": .array([.string("ip route add \(host) via \(gateway) dev \(candidate.interface)")]),
                    "config": .string("subnetRoutes:\n  \(candidate.interface): [\"<peer subnet containing \(candidate.destination)>\"]"),
                ], at: now, occurrences: memory.open.contains(key) ? 0 : 1)
            if opened {
                logger.warning(
                    "unreplied flows leave by the wrong interface",
                    metadata: ["interface": "\(candidate.interface)", "destination": "\(candidate.destination)", "leaves_by": "\(leaves)"])
            }
        }
        for key in memory.open.subtracting(seen) { findings.clear(kind: .missingSubnetRoute, key: key) }
        memory.open = seen
    }

    private func lookup(_ client: RouteClient, _ e: SubnetRouteExpectation) -> RouteLookupOutcome {
        do {
            let route = try client.lookup(to: e.probe, from: e.source)
            return .route(interface: route.outputInterface, gateway: route.gateway, table: route.table)
        } catch {
            if case .kernel(let errno, let message) = error.kind { return .unreachable(message ?? "\(errno)") }
            return .unreachable("\(error)")
        }
    }

    /// Applies the fix, verifies it with a fresh lookup, and returns the finding's repair state.
    private func repair(
        _ item: SubnetRoutePlanner.Item, _ client: RouteClient, names: [InterfaceIndex: String], applied: inout Set<RouteChange>,
        history: inout RepairHistory, at now: Date
    ) -> String {
        let e = item.expectation
        for change in item.fix where applied.insert(change).inserted {
            let command = change.command(names: names)
            do {
                switch change {
                case .addRoute(let route): try client.add(route)
                case .addRule(let rule): try client.add(rule)
                case .deleteRoute(let route): try client.delete(route)
                case .deleteRule(let rule): try client.delete(rule)
                }
                logger.notice("audit: route change made", metadata: ["command": "\(command)", "interface": "\(e.interface)"])
            } catch {
                metrics.countRepair(.failed)
                logger.error("audit: route change refused by the kernel", metadata: ["command": "\(command)", "error": "\(error)"])
                return "failed: \(error)"
            }
        }
        history.recordInstall(e.key, at: now)
        if case .ok = SubnetRoutePlanner.status(of: e, lookup: lookup(client, e)) {
            metrics.countRepair(.success)
            logger.notice("audit: repair verified", metadata: ["interface": "\(e.interface)", "destination": "\(e.destination)"])
            return "repaired"
        }
        metrics.countRepair(.verifyFailed)
        logger.error("audit: repair did not change the route lookup; taking it back", metadata: ["destination": "\(e.destination)"])
        for change in item.fix.reversed() {
            switch change {
            case .addRoute(let route): try? client.delete(route)
            case .addRule(let rule): try? client.delete(rule)
            default: break
            }
        }
        return "verify failed"
    }

    private func cleanUp(_ change: RouteChange, _ client: RouteClient, names: [InterfaceIndex: String]) {
        let command = change.command(names: names)
        do {
            switch change {
            case .deleteRoute(let route): try client.delete(route)
            case .deleteRule(let rule): try client.delete(rule)
            default: return
            }
            metrics.countRepair(.cleanedUp)
            logger.notice("audit: removed a pathwatch route no expectation needs", metadata: ["command": "\(command)"])
        } catch {
            logger.warning("audit: could not remove a pathwatch route", metadata: ["command": "\(command)", "error": "\(error)"])
        }
    }

    private func summary(_ e: SubnetRouteExpectation, observed: String, state: String) -> String {
        "Traffic from \(e.interface) (\(e.source)) to \(e.destination) \(observed) instead of leaving by \(e.interface) via its subnet gateway \(e.gateway) (\(state))"
    }

    private func evidence(
        _ e: SubnetRouteExpectation, observed: String, mode: AutofixMode, repairState: String, cause: String?, removals: Int
    ) -> [String: JSONValue] {
        var evidence: [String: JSONValue] = [
            "interface": .string(e.interface), "source": .string("\(e.source)"), "subnet": .string("\(e.subnet)"),
            "destination": .string("\(e.destination)"), "gateway": .string("\(e.gateway)"),
            "lookup": .string("ip route get \(e.probe) from \(e.source): \(observed)"), "autofix": .string(mode.rawValue),
            "repairState": .string(repairState), "removedByOthers": .number(Double(removals)),
        ]
        if let cause { evidence["likelyCause"] = .string(cause) }
        return evidence
    }

    private func remediation(commands: [String], item: SubnetRoutePlanner.Item) -> [String: JSONValue] {
        var remediation: [String: JSONValue] = [
            "commands": .array(commands.map { .string($0) }),
            "text": .string(
                "Route the peer subnet via this interface's own subnet gateway, on both sides (mirrored). With auto-fix on, pathwatch installs it tagged with its routing protocol (196); make it permanent in the node's network configuration."
            ),
        ]
        if let conflict = item.conflict { remediation["conflict"] = .string(conflict) }
        return remediation
    }
}
