import Netlink

/// Makes the kernel match the plan, through a ``RouteTableClient``: applies each fix the engine
/// decides on, verifies it with a fresh lookup, takes back what did not work (and only what no
/// working destination shares), and removes pathwatch's own leftovers once every source of
/// expectations has answered. Like calico's `RouteTable.Apply()`: safe to run again at any
/// time, and the only part of the slice that changes the kernel.
public struct SubnetRouteReconciler<Client: RouteTableClient> {
    public private(set) var engine = SubnetRouteEngine()
    private let client: Client

    public init(client: Client) { self.client = client }

    /// Everything one pass needs besides the plan.
    public struct Context {
        public var settings: AgentConfig.RepairSettings
        public var names: [InterfaceIndex: String]
        /// Whether every source of expectations (configuration, instance metadata) has answered
        /// or given up: until then nothing of pathwatch's is cleaned up.
        public var sourcesSettled: Bool
        /// Read before every change, so switching auto-fix off stops a pass under way.
        public var mode: () -> AutofixMode
        public var likelyCause: () -> String
        public var now: ContinuousClock.Instant
        /// The model's unanswered neighbour entries, for the gateways' check at the end of a pass.
        public var neighbours: NeighbourView

        public init(
            settings: AgentConfig.RepairSettings, names: [InterfaceIndex: String], sourcesSettled: Bool,
            mode: @escaping () -> AutofixMode, likelyCause: @escaping () -> String, now: ContinuousClock.Instant,
            neighbours: NeighbourView
        ) {
            self.neighbours = neighbours
            self.settings = settings
            self.names = names
            self.sourcesSettled = sourcesSettled
            self.mode = mode
            self.likelyCause = likelyCause
            self.now = now
        }
    }

    /// The changes made in one pass, in order, and which of them belong to failed repairs.
    private struct Pass {
        var applied: [RouteChange] = []
        var appliedSet: Set<RouteChange> = []
        /// Routes added this pass by kernel key: a secondary address's connected route differs
        /// only in its preferred source, and the kernel would refuse it as a duplicate.
        var appliedRoutes: Set<Route.Key> = []
        var failed: [RouteChange] = []
        var needed: Set<RouteChange> = []
        var stopped = false
    }

    public mutating func evaluate(_ plan: SubnetRoutePlanner.Plan, _ context: Context) -> [SubnetRouteEvent] {
        var events: [SubnetRouteEvent] = []
        var pass = Pass()
        let mode = context.mode()
        engine.begin()
        for item in plan.items {
            let (decision, decided) = engine.decide(
                item, mode: mode, settings: context.settings, now: context.now, likelyCause: context.likelyCause)
            events += decided
            switch decision {
            case .holds:
                pass.needed.formUnion(SubnetRoutePlanner.fixObjects(for: item.expectation, settings: context.settings))
            case .report(let state):
                events.append(engine.finding(item, state: state, mode: mode, names: context.names))
            case .install(let fix):
                let state = install(item, fix, context, &pass, &events)
                events.append(engine.finding(item, state: state, mode: mode, names: context.names))
            }
        }
        for change in SubnetRouteEngine.rollback(failed: pass.failed, applied: pass.applied, needed: pass.needed) {
            // Taking back what did not work restores the node; it is done even if auto-fix was
            // switched off meanwhile.
            do throws(RouteChangeRefusal) {
                try client.apply(change)
                events.append(.rolledBack(change))
            } catch {
                events.append(.cleanupRefused(change, error))
            }
        }
        if mode == .on, !pass.stopped { cleanUp(plan.cleanup, context, &events) }
        events += engine.finish(current: Set(plan.items.map(\.expectation.id)))
        return events + checkGateways(at: context.now, neighbours: context.neighbours)
    }

    /// Reads the model's neighbour view for every gateway a holding expectation routes through.
    /// No syscall (the view follows the kernel's neighbour events), so the agent runs it every
    /// second between evaluations: neighbour states change without any route event.
    public mutating func checkGateways(at now: ContinuousClock.Instant, neighbours: NeighbourView) -> [SubnetRouteEvent] {
        var events: [SubnetRouteEvent] = []
        for id in engine.gatewaysInUse.keys.sorted(by: { $0.description < $1.description }) {
            if let event = engine.observe(id, state: neighbours.state(of: id.gateway, on: id.interfaceIndex), at: now) {
                events.append(event)
            }
        }
        return events + engine.forgetUnusedGateways()
    }

    private mutating func install(
        _ item: SubnetRoutePlanner.Item, _ fix: [RouteChange], _ context: Context, _ pass: inout Pass,
        _ events: inout [SubnetRouteEvent]
    ) -> RepairState {
        let e = item.expectation
        for change in fix where !pass.appliedSet.contains(change) {
            if case .addRoute(let route) = change, pass.appliedRoutes.contains(route.key) { continue }
            let mode = context.mode()
            guard mode == .on, !pass.stopped else {
                if !pass.stopped { events.append(.stoppedByModeChange(mode)) }
                pass.stopped = true
                return .autofixOff
            }
            do throws(RouteChangeRefusal) {
                try client.apply(change)
                pass.applied.append(change)
                pass.appliedSet.insert(change)
                if case .addRoute(let route) = change { pass.appliedRoutes.insert(route.key) }
                events.append(.changed(change, for: e))
            } catch {
                pass.failed += fix
                let (state, refused) = engine.refused(item, change, error, now: context.now)
                events += refused
                return state
            }
        }
        let lookup = client.lookup(to: e.probe, from: e.source)
        let verdict = SubnetRoutePlanner.status(of: e, lookup: lookup, names: context.names)
        guard case .missing(let observed) = verdict else {
            pass.needed.formUnion(SubnetRoutePlanner.fixObjects(for: e, settings: context.settings))
            let (state, verified) = engine.verified(item, settings: context.settings, now: context.now)
            events += verified
            return state
        }
        pass.failed += fix
        let (state, failed) = engine.verifyFailed(item, observed: observed, now: context.now)
        events += failed
        return state
    }

    private mutating func cleanUp(_ cleanup: [RouteChange], _ context: Context, _ events: inout [SubnetRouteEvent]) {
        guard context.sourcesSettled else {
            events += engine.deferCleanup(cleanup.count)
            return
        }
        events += engine.deferCleanup(0)
        for change in cleanup {
            let mode = context.mode()
            guard mode == .on else {
                events.append(.stoppedByModeChange(mode))
                return
            }
            do throws(RouteChangeRefusal) {
                try client.apply(change)
                engine.countCleanup()
                events.append(.cleanedUp(change))
            } catch {
                events.append(.cleanupRefused(change, error))
            }
        }
    }
}
