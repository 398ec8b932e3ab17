import Foundation
import Logging
import PathwatchCore
import ServiceLifecycle

/// The fallback signal for dropped self-sourced SYNs (the instance hairpin): the kernel's
/// `in_martian_src` counter, read once a second.
///
/// When a load balancer that keeps the client address sends a node's own connection back to it,
/// the SYN arrives with the node's own source address and the kernel drops it as a martian
/// source before conntrack sees it. The counter rises with each retransmitted SYN. It cannot name
/// the frontend (that needs the per-packet probe, not in this version) and it is kernel-wide and
/// counts every impossible source, so the finding says exactly that.
public final class MartianSourceWatcher: Service {
    private let path: String
    private let findings: FindingsRegistry
    private let metrics: AgentMetrics
    private let quietSeconds: Double
    private let logger: Logger
    private let thread = WatcherThread(name: "martian-source")

    public init(
        path: String = "/proc/net/stat/rt_cache", findings: FindingsRegistry, metrics: AgentMetrics, quietSeconds: Double, logger: Logger
    ) {
        self.path = path
        self.findings = findings
        self.metrics = metrics
        self.quietSeconds = quietSeconds
        self.logger = logger
    }

    /// The finding's key: one finding for the node, since the counter cannot tell frontends apart.
    static let findingKey = "martian-source-counter"

    public func run() async throws {
        thread.start { [self] thread in watch(thread) }
        await thread.runUntilShutdown()
    }

    private func watch(_ thread: WatcherThread) {
        var last: UInt64?
        var failing = false
        metrics.setSelfSourcedSynDetection(mode: "counter")
        while !thread.isStopping {
            let now = Date()
            do {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                let value = try RouteCacheStatistics.parse(text)["in_martian_src"] ?? 0
                metrics.setMartianSourcePackets(value)
                if let last, value > last { report(value - last, at: now) }
                last = value
                if failing {
                    failing = false
                    logger.notice("martian-source counter readable again", metadata: ["path": "\(path)"])
                }
            } catch {
                if !failing {
                    failing = true
                    metrics.setSelfSourcedSynDetection(mode: "none")
                    logger.warning(
                        "cannot read the martian-source counter; self-sourced SYN drops go undetected",
                        metadata: ["path": "\(path)", "error": "\(error)"])
                }
            }
            for finding in findings.expire(kind: .selfSourcedSynDrop, lastSeenBefore: now.addingTimeInterval(-quietSeconds)) {
                logger.notice("self-sourced SYN drop finding closed after a quiet period", metadata: ["packets": "\(finding.count)"])
            }
            thread.pause(seconds: 1)
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
                    "The counter cannot name the frontend or the addresses and counts every martian source; enable log_martians (sysctl net.ipv4.conf.all.log_martians=1) to see them in the kernel log."
                ),
            ],
            remediation: HairpinReporter.remediation, at: now, occurrences: Int(clamping: increase))
        if opened {
            logger.warning("self-sourced SYNs (martian sources) are being dropped", metadata: ["increase": "\(increase)"])
        }
    }
}
