import Foundation
import Logging
import Netlink
import NetlinkIO
import PathwatchCore
import ServiceLifecycle

/// Samples the node's established TCP sockets every `paths.sampleIntervalSeconds` over
/// sock_diag, compares the public and the private path, and raises or clears the path
/// findings. Also exports the kernel's TCP counters and the NICs' allowance counters.
///
/// Runs on its own thread (the dump blocks). A failed sample is counted and logged, and the
/// session restarts a second later with a fresh socket and a fresh baseline.
public final class PathSampler: Service {
    private let settings: AgentConfig.PathSettings
    private let state: LiveNodeState
    private let metrics: AgentMetrics
    private let findings: FindingsRegistry
    private let logger: Logger
    private let thread = WatcherThread(name: "paths")
    /// Where the kernel counters are read; the agent's own network namespace.
    private let procNet: String

    public init(
        settings: AgentConfig.PathSettings, state: LiveNodeState, metrics: AgentMetrics, findings: FindingsRegistry, logger: Logger,
        procNet: String = "/proc/net"
    ) {
        self.settings = settings
        self.state = state
        self.metrics = metrics
        self.findings = findings
        self.logger = logger
        self.procNet = procNet
    }

    public func run() async throws {
        thread.startSupervised(logger: logger) { [self] thread in try session(thread) }
        await thread.runUntilShutdown()
    }

    private func session(_ thread: WatcherThread) throws {
        let client = try SockDiagClient()
        let ethtool = try? EthtoolReader()
        var aggregator = PathAggregator(settings: settings.aggregatorSettings)
        var detector = PathDegradationDetector(settings: settings.detectorSettings, worstPeers: settings.worstPeers)
        var kernelHistory: [(time: Date, counters: KernelTCPCounters)] = []
        var verdict = PathDegradationDetector.Verdict.healthy
        var withoutAllowances: Set<String> = []
        var rounds = 0
        logger.info(
            "sampling TCP sockets for path comparison",
            metadata: [
                "interval_seconds": "\(settings.sampleIntervalSeconds)",
                "private_ranges": "\(settings.privateRanges.map(\.description).joined(separator: ","))",
            ])
        while !thread.isStopping {
            let started = ContinuousClock.now
            var sockets = 0
            var decodeErrors = 0
            aggregator.begin()
            do {
                try client.forEachTCPSocket(
                    onDecodeError: { _ in decodeErrors += 1 },
                    { record in
                        sockets += 1
                        aggregator.add(record)
                    })
            } catch {
                metrics.paths.recordSample(success: false, seconds: seconds(since: started), sockets: 0, untracked: 0)
                throw error
            }
            let now = Date()
            let sample = aggregator.finish(at: now)
            metrics.paths.recordSample(
                success: true, seconds: seconds(since: started), sockets: sockets, untracked: sample.untrackedSockets)
            if decodeErrors > 0 {
                logger.warning("TCP socket rows that did not decode were skipped", metadata: ["rows": "\(decodeErrors)"])
            }

            let kernel = readKernelCounters()
            metrics.paths.setKernelCounters(kernel)
            kernelHistory.append((now, kernel))
            kernelHistory.removeAll { now.timeIntervalSince($0.time) > settings.windowSeconds }
            // Interfaces whose driver lacks the counters (veth, lo) are re-checked once a minute
            // or so, not every round: a node with hundreds of pod veths pays three ioctls each.
            rounds += 1
            if rounds % max(1, Int(60 / settings.sampleIntervalSeconds)) == 0 { withoutAllowances.removeAll() }
            let nic = readNICAllowances(ethtool, skipping: &withoutAllowances)
            metrics.paths.setNICAllowances(nic)

            let assessment = detector.ingest(sample)
            metrics.paths.update(assessment)
            publish(assessment, nic: nic, kernelDeltas: deltas(kernelHistory), previous: &verdict)
            thread.pause(seconds: settings.sampleIntervalSeconds - seconds(since: started))
        }
    }

    private func publish(
        _ assessment: PathDegradationDetector.Assessment, nic: [NICAllowanceReading], kernelDeltas: [(name: String, value: Int64)],
        previous: inout PathDegradationDetector.Verdict
    ) {
        let finding = PathFinding(assessment, nic: nic, kernelDeltas: kernelDeltas, thresholds: settings.detectorSettings)
        for (kind, key) in PathFinding.all where finding?.kind != kind || finding?.key != key {
            findings.clear(kind: kind, key: key)
        }
        if let finding {
            findings.report(
                kind: finding.kind, key: finding.key, summary: finding.summary, evidence: finding.evidence,
                remediation: finding.remediation, at: assessment.time)
        }
        if assessment.verdict != previous {
            let metadata: Logger.Metadata = [
                "from": "\(previous.rawValue)", "to": "\(assessment.verdict.rawValue)",
                "public_retransmit_ratio": "\(assessment[.public].retransmitRatio)",
                "private_retransmit_ratio": "\(assessment[.private].retransmitRatio)",
            ]
            if assessment.verdict == .healthy {
                logger.notice("path degradation cleared", metadata: metadata)
            } else {
                logger.warning("\(finding?.summary ?? "path degraded")", metadata: metadata)
            }
            previous = assessment.verdict
        }
    }

    private func readKernelCounters() -> KernelTCPCounters {
        let snmp = (try? String(contentsOfFile: "\(procNet)/snmp", encoding: .utf8)) ?? ""
        let netstat = (try? String(contentsOfFile: "\(procNet)/netstat", encoding: .utf8)) ?? ""
        return KernelTCPCounters(snmp: snmp, netstat: netstat)
    }

    /// Growth of each kernel counter between the oldest and newest reading in the window.
    private func deltas(_ history: [(time: Date, counters: KernelTCPCounters)]) -> [(name: String, value: Int64)] {
        guard let first = history.first?.counters, let last = history.last?.counters else { return [] }
        let before = Dictionary(first.named, uniquingKeysWith: { a, _ in a })
        return last.named.compactMap { entry in before[entry.name].map { (entry.name, entry.value - $0) } }
    }

    /// The allowance counters of every interface whose driver has them (none on veth or lo).
    private func readNICAllowances(_ reader: EthtoolReader?, skipping without: inout Set<String>) -> [NICAllowanceReading] {
        guard let reader else { return [] }
        let interfaces = state.read { model in model.links.values.map(\.name) }
        var readings: [NICAllowanceReading] = []
        for interface in interfaces.sorted() where !without.contains(interface) {
            guard let statistics = try? reader.statistics(of: interface) else {
                without.insert(interface)
                continue
            }
            var counters: [NICAllowance: UInt64] = [:]
            for (name, value) in statistics.values {
                if let allowance = NICAllowance(statisticName: name) { counters[allowance] = value }
            }
            if counters.isEmpty {
                without.insert(interface)
            } else {
                readings.append(NICAllowanceReading(interface: interface, driver: statistics.driver, counters: counters))
            }
        }
        return readings
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
