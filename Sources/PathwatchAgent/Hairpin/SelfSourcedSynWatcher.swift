import Logging
import Netlink
import NetlinkIO
import PathwatchCore
import ServiceLifecycle

/// Runs the self-sourced SYN slice (the instance hairpin) on its own thread: the probe's log
/// socket blocks, so it stays off Swift concurrency's pool. The decisions are
/// ``SelfSourcedSynController``'s; this only wires the kernel sources and turns the loop.
///
/// The mode in force is exported as `pathwatch_self_sourced_syn_detection{mode}` and in `/readyz`.
public final class SelfSourcedSynWatcher: Service {
    private let settings: AgentConfig.HairpinSettings
    private let installProbe: Bool
    private let state: LiveNodeState
    private let slice: SelfSourcedSynSlice
    private let findings: FindingsRegistry
    private let logger: Logger
    private let martianPath: String
    private let thread = WatcherThread(name: "self-sourced-syn")
    private let podHairpin: HairpinService?

    /// `installProbe` false keeps the node untouched (doctor): counter mode only.
    public init(
        settings: AgentConfig.HairpinSettings, installProbe: Bool, state: LiveNodeState, slice: SelfSourcedSynSlice,
        findings: FindingsRegistry, logger: Logger, podHairpin: HairpinService? = nil, martianPath: String = "/proc/net/stat/rt_cache"
    ) {
        self.podHairpin = podHairpin
        self.settings = settings
        self.installProbe = installProbe && settings.probe
        self.state = state
        self.slice = slice
        self.findings = findings
        self.logger = logger
        self.martianPath = martianPath
    }

    public func run() async throws {
        thread.start { [self] thread in watch(thread) }
        await thread.runUntilShutdown()
    }

    private func watch(_ thread: WatcherThread) {
        let (group, rate, state, logger) = (UInt16(settings.probeLogGroup), settings.probeRatePerSecond, state, logger)
        let hosted = HostedEndpointsReader(state: state)
        let sources = SelfSourcedSynController.Sources(
            installProbe: installProbe
                ? {
                    try SynProbe(group: group, ratePerSecond: rate, wake: thread.wake, modelChanges: state.changeNotice, logger: logger)
                } : nil,
            martian: MartianCounterFile(path: martianPath),
            interfaceName: { index in state.read { $0.links[InterfaceIndex(Int32(bitPattern: index))]?.name } },
            localEndpoints: { hosted.read() },
            modelReady: { !state.pendingParts.contains(RtnetlinkWatcher.readinessPart) },
            podHairpin: podHairpin.map { service in { match, origin in service.probeSaw(match, origin: origin) } },
            reversePathCounter: { try ReversePathCounterFile().read() },
            unansweredFlows: {
                // Only when the counter rose in counter mode: one dump, the unanswered flows kept.
                var flows: [ConntrackFlow] = []
                try ConntrackClient().dumpFlows { if !$0.status.contains(.seenReply) { flows.append($0) } }
                return flows
            })
        let controller = SelfSourcedSynController(
            sources: sources, slice: slice, logGroup: settings.probeLogGroup, findings: findings, logger: logger)
        let clock = ContinuousClock()
        while !thread.isStopping {
            controller.installIfDue(at: clock.now)
            // With the probe, the wait lasts until a logged packet, a change to the probe's
            // table, a stop, or work that falls due (no limit on a quiet node); without it
            // (counter mode) until the once-a-second counter read.
            let due = controller.nextDue(after: clock.now)
            if !controller.receive(waitingUpTo: due, at: clock.now) {
                thread.pause(seconds: due.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } ?? 1)
            }
            controller.tick(at: clock.now)
        }
        controller.shutdown()
    }
}
