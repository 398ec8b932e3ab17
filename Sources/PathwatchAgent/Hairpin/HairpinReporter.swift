import Foundation
import Logging
import Netlink
import PathwatchCore

/// Runs the hairpin detector over conntrack events and reports what it sees: the `hairpin`
/// finding per frontend, `pathwatch_hairpin_flows_total{frontend}`, and a log line when a
/// finding opens and when it closes after the quiet period.
///
/// Called from the conntrack watcher's thread only, so its state needs no lock.
final class HairpinReporter: @unchecked Sendable {
    private var detector: HairpinDetector
    private var labels: BoundedLabels
    private var frontends: [String: FrontendEvidence] = [:]
    private let settings: AgentConfig.HairpinSettings
    private let findings: FindingsRegistry
    private let metrics: AgentMetrics
    private let logger: Logger
    private var lastExpiry = Date()

    /// What the finding says about one frontend; bounded lists.
    struct FrontendEvidence {
        var hairpinned = 0
        var unanswered = 0
        var answered = 0
        var sources: [String] = []
        var targets: [String] = []
        var samples: [String] = []
        var protocolName = "tcp"
    }

    init(settings: AgentConfig.HairpinSettings, findings: FindingsRegistry, metrics: AgentMetrics, logger: Logger) {
        detector = HairpinDetector(window: settings.windowSeconds, capacity: settings.maxTrackedFlows)
        labels = BoundedLabels(limit: settings.maxFrontendLabels)
        self.settings = settings
        self.findings = findings
        self.metrics = metrics
        self.logger = logger
    }

    func observe(_ events: [ConntrackEvent], state: LiveNodeState, at now: Date = Date()) {
        var observations: [HairpinDetector.Observation] = []
        state.read { model in
            for event in events {
                if let observation = detector.observe(event, at: now, isLocal: model.isLocalEndpoint) { observations.append(observation) }
            }
        }
        for observation in observations { report(observation, at: now) }
        metrics.setHairpinTracked(detector.trackedCount)
        expireIfDue(at: now)
    }

    /// Expires at most once a second, also when no events arrive.
    func expireIfDue(at now: Date = Date()) {
        if now.timeIntervalSince(lastExpiry) >= 1 { expire(at: now) }
    }

    /// Closes findings whose frontend has been quiet for `quietSeconds`.
    func expire(at now: Date) {
        lastExpiry = now
        detector.expire(at: now)
        for finding in findings.expire(kind: .hairpin, lastSeenBefore: now.addingTimeInterval(-settings.quietSeconds)) {
            frontends.removeValue(forKey: finding.key)
            logger.notice(
                "hairpin finding closed after a quiet period", metadata: ["frontend": "\(finding.key)", "flows": "\(finding.count)"])
        }
    }

    private func report(_ observation: HairpinDetector.Observation, at now: Date) {
        switch observation {
        case .hairpin(let match):
            let frontend = match.frontend.description
            metrics.countHairpinFlow(frontend: labels.label(for: frontend))
            var evidence = frontends[frontend] ?? FrontendEvidence()
            evidence.hairpinned += 1
            evidence.protocolName =
                match.protocolNumber == .udp ? "udp" : match.protocolNumber == .tcp ? "tcp" : "\(match.protocolNumber.rawValue)"
            evidence.sources.appendOnce("\(match.source.address)", limit: Self.listLimit)
            evidence.targets.appendOnce(match.localTarget.description, limit: Self.listLimit)
            evidence.samples.appendKeepingLast("\(match.source) -> \(frontend) -> \(match.localTarget)", limit: Self.listLimit)
            frontends[frontend] = evidence
            let opened = findings.report(
                kind: .hairpin, key: frontend, summary: summary(frontend, evidence), evidence: json(frontend, evidence),
                remediation: Self.remediation,
                at: now)
            if opened {
                logger.warning(
                    "hairpin: connections through a frontend come back to this node",
                    metadata: ["frontend": "\(frontend)", "source": "\(match.source)", "target": "\(match.localTarget)"])
            }
        case .outcome(let endpoint, let assured):
            let frontend = endpoint.description
            if !assured { metrics.countHairpinUnanswered(frontend: labels.label(for: frontend)) }
            guard var evidence = frontends[frontend] else { return }
            if assured { evidence.answered += 1 } else { evidence.unanswered += 1 }
            frontends[frontend] = evidence
            findings.report(
                kind: .hairpin, key: frontend, summary: summary(frontend, evidence), evidence: json(frontend, evidence),
                remediation: Self.remediation,
                at: now, occurrences: 0)
        }
    }

    /// Evidence lists hold at most this many entries.
    static let listLimit = 5

    private func summary(_ frontend: String, _ e: FrontendEvidence) -> String {
        "Connections from this node to frontend \(frontend) come back to this node (\(e.sources.joined(separator: ", ")) → \(e.targets.joined(separator: ", "))): the load balancer keeps the client address and sends the node's own connections back to it; \(e.hairpinned) hairpinned, \(e.unanswered) died unanswered"
    }

    private func json(_ frontend: String, _ e: FrontendEvidence) -> [String: JSONValue] {
        [
            "frontend": .string(frontend), "protocol": .string(e.protocolName), "sourceEndpoints": .array(e.sources.map { .string($0) }),
            "localTargets": .array(e.targets.map { .string($0) }), "samples": .array(e.samples.map { .string($0) }),
            "hairpinnedFlows": .number(Double(e.hairpinned)), "unansweredFlows": .number(Double(e.unanswered)),
            "answeredFlows": .number(Double(e.answered)), "origin": .string("conntrack"),
        ]
    }

    static let remediation: [String: JSONValue] = [
        "text": .string(
            "The load balancer preserves the client address, so a node's connection to it can be sent back to the same node, where the answer is dropped: failures land ~5 s in (the balancer's SYN timeout), in pairs with a retry."
        ),
        "options": .array([
            .string(
                "Disable client-IP preservation on the target group and use Proxy Protocol v2 to carry the client address (upstreams and health checks must parse it)."
            ),
            .string("Keep clients and targets of this frontend on different nodes (anti-affinity, separate node groups)."),
            .string("Talk to the service directly (cluster DNS, pod to pod) instead of through the load balancer."),
        ]),
    ]
}
