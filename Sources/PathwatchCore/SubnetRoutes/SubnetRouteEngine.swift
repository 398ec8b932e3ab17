import Netlink

/// The decisions about declared subnet routes: what to report, whether to repair now, how to
/// count and de-duplicate, when to back off, what a rollback may take back. Pure: typed inputs
/// (the planner's items, the auto-fix mode, the repair settings, a monotonic instant) in, typed
/// ``RepairState``s and ``SubnetRouteEvent``s out; ``SubnetRouteReconciler`` does the I/O.
public struct SubnetRouteEngine: Sendable {
    public typealias Instant = ContinuousClock.Instant
    public typealias ID = SubnetRouteExpectation.ID
    typealias Item = SubnetRoutePlanner.Item

    /// What to do about one expectation now.
    public enum Decision: Equatable, Sendable {
        case holds
        /// Nothing to change now; the finding shows this state.
        case report(RepairState)
        /// Make these changes, then verify.
        case install([RouteChange])
    }

    /// Results counted and logged once per episode (until the expectation holds again).
    enum Episode: Hashable, Sendable {
        case dryRun([RouteChange])
        case conflict(Conflict)
        case flapping
    }

    struct Memory: Sendable {
        var counted: Set<Episode> = []
        /// The state shown while backing off after a failure.
        var lastFailure: RepairState?
        var likelyCause: String?
        var open = false
    }

    public private(set) var history = RepairHistory()
    public private(set) var statistics = SubnetRouteStatistics()
    private var memory: [ID: Memory] = [:]
    private var deferredCleanup = 0
    var gateways = GatewayMemory()

    public init() {}

    /// Starts a pass: the gauge set is rebuilt from this pass's expectations.
    mutating func begin() {
        statistics.missing = [:]
        gateways.inUse = [:]
        verifiedThisPass = []
    }

    /// Expectations verified in the current pass: an interface's secondary addresses share an
    /// identity, and one repair is counted once.
    private var verifiedThisPass: Set<ID> = []

    mutating func decide(
        _ item: Item, mode: AutofixMode, settings: AgentConfig.RepairSettings, now: Instant, likelyCause: () -> String
    ) -> (Decision, [SubnetRouteEvent]) {
        let e = item.expectation
        var events: [SubnetRouteEvent] = []
        guard item.isMissing else {
            statistics.missing[MissingRouteLabels(e)] = false
            history.recordHolding(e.id, throughPathwatchRoute: item.heldByPathwatch)
            gateways.inUse[SubnetGatewayID(e), default: []].append(e.destination)
            if memory.removeValue(forKey: e.id)?.open == true { events.append(.cleared(e.id, stillExpected: true)) }
            return (.holds, events)
        }
        statistics.missing[MissingRouteLabels(e)] = true
        if !item.heldByPathwatch, history.recordMissing(e.id) {
            statistics.removedByOthers += 1
            events.append(.removedByOthers(e, removals: history.entry(e.id).removals))
        }
        switch mode {
        case .off:
            return (.report(.autofixOff), events)
        case .dryRun:
            if once(.dryRun(item.fix), e.id) {
                count(.dryRun)
                events.append(.wouldChange(e, item.fix))
            }
            return (.report(.dryRun(item.fix)), events)
        case .on:
            if let conflict = item.conflict {
                if once(.conflict(conflict), e.id) {
                    // A foreign main-table route can only be replaced, which pathwatch never does;
                    // one in pathwatch's own table is someone else writing where it should not.
                    count(conflict.route.table == .main ? .blocked : .conflict)
                    events.append(.conflict(e, conflict))
                }
                return (.report(.conflict(conflict)), events)
            }
            if history.isFlapping(e.id, at: now, settings: settings) {
                if once(.flapping, e.id) {
                    count(.flapping)
                    let cause = likelyCause()
                    memory[e.id, default: Memory()].likelyCause = cause
                    events.append(.flapping(e, installs: history.entry(e.id).installs.count, likelyCause: cause))
                }
                return (.report(.flapping), events)
            }
            if history.isBackingOff(e.id, at: now) {
                return (.report(memory[e.id]?.lastFailure ?? .reported), events)
            }
            return (item.fix.isEmpty ? .report(.reported) : .install(item.fix), events)
        }
    }

    /// The kernel refused `change`. Logged only when the refusal is new for this expectation.
    mutating func refused(_ item: Item, _ change: RouteChange, _ refusal: RouteChangeRefusal, now: Instant) -> (
        RepairState, [SubnetRouteEvent]
    ) {
        let e = item.expectation
        count(.failed)
        history.recordFailure(e.id, at: now)
        let state = RepairState.failed(refusal)
        let isNew = memory[e.id]?.lastFailure != state
        memory[e.id, default: Memory()].lastFailure = state
        let retryIn = history.entry(e.id).backoff
        return (state, isNew ? [.refused(change, refusal, for: e, retryIn: retryIn)] : [])
    }

    mutating func verified(_ item: Item, settings: AgentConfig.RepairSettings, now: Instant) -> (RepairState, [SubnetRouteEvent]) {
        if verifiedThisPass.insert(item.expectation.id).inserted { count(.success) }
        gateways.inUse[SubnetGatewayID(item.expectation), default: []].append(item.expectation.destination)
        if history.entry(item.expectation.id).installs.last != now {
            history.recordVerifiedInstall(item.expectation.id, at: now, settings: settings)
        }
        memory[item.expectation.id, default: Memory()].lastFailure = nil
        return (.repaired, [.verified(item.expectation)])
    }

    mutating func verifyFailed(_ item: Item, observed: String, now: Instant) -> (RepairState, [SubnetRouteEvent]) {
        let e = item.expectation
        count(.verifyFailed)
        history.recordFailure(e.id, at: now)
        let isNew = memory[e.id]?.lastFailure != .verifyFailed
        memory[e.id, default: Memory()].lastFailure = .verifyFailed
        return (.verifyFailed, isNew ? [.verifyFailed(e, observed: observed, retryIn: history.entry(e.id).backoff)] : [])
    }

    /// The finding for a missing expectation in `state`.
    mutating func finding(
        _ item: Item, state: RepairState, mode: AutofixMode, names: [InterfaceIndex: String]
    ) -> SubnetRouteEvent {
        let e = item.expectation
        guard case .missing(let observed) = item.status else { preconditionFailure("only missing expectations have findings") }
        var entry = memory[e.id] ?? Memory()
        let opened = !entry.open
        entry.open = true
        memory[e.id] = entry
        var report = MissingSubnetRouteReport(
            e, observed: observed, state: state, mode: mode, removals: history.entry(e.id).removals,
            likelyCause: state == .flapping ? entry.likelyCause : nil, commands: item.fix.map { $0.command(names: names) },
            conflict: item.conflict, names: names, selectedBy: item.selectedBy)
        if let text = MissingSubnetRouteReport.explanation(item, names: names) { report.remediation.text = text }
        return .finding(report, opened: opened)
    }

    /// What to take back after failed verifications: the adds this pass made for expectations
    /// that failed, except what an expectation that holds (or just verified) still needs, newest
    /// first. Shared objects (a policy rule, the connected route) are thereby kept as long as
    /// one destination uses them.
    static func rollback(failed: [RouteChange], applied: [RouteChange], needed: Set<RouteChange>) -> [RouteChange] {
        let failedSet = Set(failed)
        return applied.reversed().filter { failedSet.contains($0) && !needed.contains($0) }.compactMap { change in
            switch change {
            case .addRoute(let route): .deleteRoute(route)
            case .addRule(let rule): .deleteRule(rule)
            case .deleteRoute, .deleteRule: nil
            }
        }
    }

    /// Clean-up waits for the expectation sources; says so once per change in what waits.
    mutating func deferCleanup(_ count: Int) -> [SubnetRouteEvent] {
        defer { deferredCleanup = count }
        return count > 0 && count != deferredCleanup ? [.cleanupDeferred(count: count)] : []
    }

    mutating func countCleanup() { count(.cleanedUp) }

    /// Ends a pass: expectations that no longer exist lose their findings and history.
    mutating func finish(current: Set<ID>) -> [SubnetRouteEvent] {
        var events: [SubnetRouteEvent] = []
        for (id, entry) in memory where !current.contains(id) {
            if entry.open { events.append(.cleared(id, stillExpected: false)) }
            memory.removeValue(forKey: id)
        }
        history.retain(only: current)
        return events
    }

    private mutating func once(_ episode: Episode, _ id: ID) -> Bool {
        memory[id, default: Memory()].counted.insert(episode).inserted
    }

    private mutating func count(_ result: RouteRepairResult) { statistics.repairs[result, default: 0] += 1 }
}
