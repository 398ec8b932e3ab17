import FoundationEssentials
import Logging
import PathwatchCore
import ServiceLifecycle
import Synchronization

/// Runs the path slice: every `paths.sampleIntervalSeconds` one ``PathHealthEngine`` round over
/// the kernel's sockets, its outcomes applied to the findings registry, its state handed to
/// ``PathMetrics`` for the next scrape.
///
/// Runs on its own thread (the dump blocks). A failed sample is counted and logged, and the
/// session restarts a second later with a fresh socket and a fresh baseline.
public final class PathSampler: Service {
    private let settings: AgentConfig.PathSettings
    private let state: LiveNodeState
    private let metrics: PathMetrics
    private let findings: FindingsRegistry
    private let logger: Logger
    private let thread = WatcherThread(name: "paths")
    private let procNet: String
    /// Used by the sampler thread only; it outlives a session, so that after a failed dump the
    /// findings it opened are still cleared when their time comes.
    private let engine: Mutex<PathHealthEngine>

    public init(
        settings: AgentConfig.PathSettings, state: LiveNodeState, metrics: AgentMetrics, findings: FindingsRegistry, logger: Logger,
        procNet: String = "/proc/net"
    ) {
        self.settings = settings
        self.state = state
        self.metrics = metrics.paths
        self.findings = findings
        self.logger = logger
        self.procNet = procNet
        engine = Mutex(PathHealthEngine(settings: settings.engineSettings))
    }

    public func run() async throws {
        thread.startSupervised(logger: logger) { [self] thread in try session(thread) }
        await thread.runUntilShutdown()
    }

    private func session(_ thread: WatcherThread) throws {
        var source = try KernelPathSource(state: state, procNet: procNet, sampleIntervalSeconds: settings.sampleIntervalSeconds)
        engine.withLock { $0.restartBaseline() }
        var verdict = PathDegradationDetector.Verdict.healthy
        logger.info(
            "sampling TCP sockets for path comparison",
            metadata: [
                "interval_seconds": "\(settings.sampleIntervalSeconds)",
                "private_ranges": "\(settings.privateRanges.map(\.description).joined(separator: ","))",
            ])
        while !thread.isStopping {
            let started = ContinuousClock.now
            let round: PathHealthEngine.Round
            do {
                round = try engine.withLock { try $0.round(from: &source, at: started) }
            } catch {
                metrics.recordSample(success: false, seconds: (ContinuousClock.now - started).seconds)
                throw error
            }
            metrics.recordSample(success: true, seconds: (ContinuousClock.now - started).seconds)
            metrics.publish(engine.withLock { $0.snapshot })
            if round.decodeErrors > 0 {
                logger.warning("TCP socket rows that did not decode were skipped", metadata: ["rows": "\(round.decodeErrors)"])
            }
            apply(round.outcomes, at: Date())
            log(round.assessment, previous: &verdict)
            thread.pause(seconds: settings.sampleIntervalSeconds - (ContinuousClock.now - started).seconds)
        }
    }

    /// Reports and clears what the engine decided; `time` is only what `/findings` displays.
    private func apply(_ outcomes: [PathOutcome], at time: Date) {
        for outcome in outcomes {
            switch outcome {
            case .path(let f, let opened):
                findings.report(
                    kind: f.kind, key: f.key, summary: f.summary, evidence: f.evidence, remediation: f.remediation, at: time)
                if opened { logger.warning("\(f.summary)", metadata: ["kind": "\(f.kind.rawValue)"]) }
            case .peer(let f, let opened):
                findings.report(
                    kind: PeerFinding.kind, key: f.key, summary: f.summary, evidence: f.evidence, remediation: f.remediation,
                    at: time)
                if opened { logger.info("\(f.summary)", metadata: ["peer": "\(f.key)"]) }
            case .cleared(let kind, let key):
                findings.clear(kind: kind, key: key)
            }
        }
    }

    private func log(_ assessment: PathDegradationDetector.Assessment, previous: inout PathDegradationDetector.Verdict) {
        guard assessment.verdict != previous else { return }
        var metadata: Logger.Metadata = ["from": "\(previous.rawValue)", "to": "\(assessment.verdict.rawValue)"]
        for path in PathClass.allCases {
            let w = assessment[path]
            metadata["\(path.rawValue)_peers"] = "\(w.peers.lossy)/\(w.peers.active) lossy"
            metadata["\(path.rawValue)_retransmit_ratio"] = "\(w.retransmitRatio)"
        }
        logger.notice(
            assessment.verdict == .healthy ? "path degradation cleared" : "path verdict changed; see /findings", metadata: metadata)
        previous = assessment.verdict
    }
}

extension Duration {
    /// Seconds as a floating-point number, for metrics and pauses.
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
