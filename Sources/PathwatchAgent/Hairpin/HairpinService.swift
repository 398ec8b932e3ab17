import FoundationEssentials
import Logging
import Netlink
import PathwatchCore
import Synchronization

/// The pod-hairpin slice in the agent: feeds conntrack batches to ``HairpinEngine`` and applies
/// its outcomes to the findings registry and the log. The engine sits behind its own lock; the
/// node model's lock is held only to copy the local endpoints out, never while detecting.
public final class HairpinService: ConntrackEventConsumer {
    private let engine: Mutex<HairpinEngine>
    private let lastExpiry: Mutex<ContinuousClock.Instant>
    private let localEndpoints: @Sendable () -> LocalEndpoints
    private let findings: FindingsRegistry
    private let logger: Logger
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let wallClock: @Sendable () -> Date
    /// Names pods in the evidence once Kubernetes reporting runs (`kubernetes.podNames`).
    private let pods = Mutex<(any PodNameResolver)?>(nil)

    /// `localEndpoints` is called once per batch with NEW events; `clock` drives the windows,
    /// `wallClock` only the times the findings display.
    public init(
        settings: AgentConfig.HairpinSettings, findings: FindingsRegistry, logger: Logger,
        localEndpoints: @escaping @Sendable () -> LocalEndpoints,
        clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }, wallClock: @escaping @Sendable () -> Date = { Date() }
    ) {
        engine = Mutex(HairpinEngine(settings: settings.engineSettings))
        lastExpiry = Mutex(clock())
        self.localEndpoints = localEndpoints
        self.findings = findings
        self.logger = logger
        self.clock = clock
        self.wallClock = wallClock
    }

    /// The endpoints of the shared model, copied out under its lock.
    public convenience init(settings: AgentConfig.HairpinSettings, state: LiveNodeState, findings: FindingsRegistry, logger: Logger) {
        let hosted = HostedEndpointsReader(state: state)
        self.init(settings: settings, findings: findings, logger: logger, localEndpoints: { hosted.read() })
    }

    public func consume(_ batch: [ConntrackEvent]) {
        let now = clock()
        let local = batch.contains { $0.type == .new } ? localEndpoints() : LocalEndpoints()
        let outcomes = engine.withLock { $0.observe(batch, at: now, isLocal: { local.contains($0) }) }
        apply(outcomes)
        idle()
    }

    /// Expires at most once a second, also when no events arrive.
    public func idle() {
        let now = clock()
        let due = lastExpiry.withLock { last in
            guard now - last >= .seconds(1) else { return false }
            last = now
            return true
        }
        if due { apply(engine.withLock { $0.expire(at: now) }) }
    }

    /// A pod hairpin the self-sourced SYN probe saw die before conntrack confirmed it.
    public func probeSaw(_ match: HairpinCorrelator.Match, origin: String) {
        let now = clock()
        let outcome = engine.withLock { $0.observedDrop(match, origin: origin, at: now) }
        apply(outcome.map { [$0] } ?? [])
    }

    /// From now on, hairpin evidence names the client and server pods this resolver knows.
    public func namePods(with resolver: any PodNameResolver) { pods.withLock { $0 = resolver } }

    public var needsTicks: Bool { !engine.withLock { $0.isIdle } }

    /// What the collector serves.
    public var statistics: HairpinEngine.Statistics { engine.withLock { $0.statistics } }

    private func apply(_ outcomes: [HairpinEngine.Outcome]) {
        guard !outcomes.isEmpty else { return }
        let time = wallClock()
        for outcome in outcomes {
            switch outcome {
            case .opened(var report), .updated(var report):
                if let resolver = pods.withLock({ $0 }), var evidence = report.evidence as? HairpinEvidence {
                    evidence.namePods(resolver)
                    report.evidence = evidence
                    report.summary = evidence.summary
                }
                let opened = findings.report(
                    kind: .hairpin, key: report.key.description, summary: report.summary, evidence: report.evidence,
                    remediation: HairpinRemediation.clientAddressPreserved, at: time, occurrences: report.occurrences)
                if opened, let match = report.match {
                    logger.warning(
                        "hairpin: connections through a frontend come back to this node",
                        metadata: ["frontend": "\(report.key)", "source": "\(match.source)", "target": "\(match.localTarget)"])
                }
            case .closed(let key, let flows):
                findings.clear(kind: .hairpin, key: key.description)
                logger.notice("hairpin finding closed after a quiet period", metadata: ["frontend": "\(key)", "flows": "\(flows)"])
            }
        }
    }
}

extension AgentConfig.HairpinSettings {
    var engineSettings: HairpinEngine.Settings {
        HairpinEngine.Settings(
            window: .seconds(windowSeconds), capacity: maxTrackedFlows, quiet: .seconds(quietSeconds),
            maxFrontendLabels: maxFrontendLabels, maxFindings: maxFindings)
    }
}
