import Foundation
import Logging
import PathwatchCore

/// The fallback signal for dropped self-sourced SYNs: the kernel's `in_martian_src` counter.
///
/// The counter rises with each retransmitted SYN of an instance hairpin, but it cannot name
/// the frontend and it is kernel-wide (every impossible source counts), so its finding says
/// exactly that. While the probe runs, the counter is still exported but raises no finding.
final class MartianCounter {
    private let path: String
    private let findings: FindingsRegistry
    private let metrics: AgentMetrics
    private let logger: Logger
    private var last: UInt64?
    private(set) var readable = true

    /// The finding's key: one finding for the node, since the counter cannot tell frontends apart.
    static let findingKey = "martian-source-counter"

    init(path: String, findings: FindingsRegistry, metrics: AgentMetrics, logger: Logger) {
        self.path = path
        self.findings = findings
        self.metrics = metrics
        self.logger = logger
    }

    /// Reads the counter; reports a rise as a finding when `reporting` (counter mode).
    func poll(reporting: Bool, at now: Date) {
        do {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let value = try RouteCacheStatistics.parse(text)["in_martian_src"] ?? 0
            metrics.setMartianSourcePackets(value)
            if reporting, let last, value > last { report(value - last, at: now) }
            last = value
            if !readable {
                readable = true
                logger.notice("martian-source counter readable again", metadata: ["path": "\(path)"])
            }
        } catch {
            if readable {
                readable = false
                logger.warning(
                    "cannot read the martian-source counter", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
    }

    private func report(_ increase: UInt64, at now: Date) {
        metrics.countSelfSourcedSynDrops(increase)
        let opened = findings.report(
            kind: .selfSourcedSynDrop, key: Self.findingKey,
            summary:
                "The kernel is dropping packets whose source address is impossible on their interface (in_martian_src rose by \(increase) in the last second); on a node behind a load balancer that keeps the client address, these are the node's own SYNs sent back to it (instance hairpin)",
            evidence: [
                "inMartianSrcIncrease": .number(Double(increase)), "intervalSeconds": .number(1),
                "detection": .string("counter: /proc/net/stat/rt_cache in_martian_src, kernel-wide"),
                "limits": .string(
                    "The counter cannot name the frontend or the addresses and counts every martian source; the agent's probe (hairpin.probe) names them, or enable log_martians (sysctl net.ipv4.conf.all.log_martians=1) to see them in the kernel log."
                ),
            ],
            remediation: HairpinReporter.remediation, at: now, occurrences: Int(clamping: increase))
        if opened {
            logger.warning("self-sourced SYNs (martian sources) are being dropped", metadata: ["increase": "\(increase)"])
        }
    }
}
