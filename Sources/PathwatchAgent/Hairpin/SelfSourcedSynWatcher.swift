import Foundation
import Logging
import Netlink
import NetlinkIO
import PathwatchCore
import ServiceLifecycle
import Synchronization

/// Detects dropped self-sourced SYNs (the instance hairpin) per packet, naming the frontend,
/// and falls back to the kernel's martian-source counter when the probe is off or cannot be
/// installed. The mode in force is exported as `pathwatch_self_sourced_syn_detection{mode}`
/// and in `/readyz`.
///
/// The probe is retried every 30 s while it cannot be installed (a busy log group, nf_tables
/// missing), checked every second while it runs and recreated when someone flushes or deletes
/// the table, and removed when the agent stops.
public final class SelfSourcedSynWatcher: Service {
    private let settings: AgentConfig.HairpinSettings
    private let installProbe: Bool
    private let state: LiveNodeState
    private let findings: FindingsRegistry
    private let metrics: AgentMetrics
    private let logger: Logger
    private let martianPath: String
    private let thread = WatcherThread(name: "self-sourced-syn")
    /// Per-frontend evidence of open findings; only the watcher's thread touches it.
    private let evidence = Mutex<[String: SelfSourcedSynEvidence]>([:])

    /// `installProbe` false keeps the node untouched (doctor): counter mode only.
    public init(
        settings: AgentConfig.HairpinSettings, installProbe: Bool, state: LiveNodeState, findings: FindingsRegistry, metrics: AgentMetrics,
        logger: Logger, martianPath: String = "/proc/net/stat/rt_cache"
    ) {
        self.settings = settings
        self.installProbe = installProbe && settings.probe
        self.state = state
        self.findings = findings
        self.metrics = metrics
        self.logger = logger
        self.martianPath = martianPath
    }

    /// What `/readyz` says about a mode.
    public static func describe(mode: String) -> String {
        switch mode {
        case "probe": "probe (nftables table inet \(SynProbeRule.table), nfnetlink_log)"
        case "counter": "counter (in_martian_src)"
        default: "none"
        }
    }

    var detection: String {
        "probe: nftables table inet \(SynProbeRule.table) logs to nfnetlink_log group \(settings.probeLogGroup); frontend from conntrack"
    }

    public func run() async throws {
        thread.start { [self] thread in watch(thread) }
        await thread.runUntilShutdown()
    }

    private func watch(_ thread: WatcherThread) {
        let counter = MartianCounter(path: martianPath, findings: findings, metrics: metrics, logger: logger)
        var probe: SynProbe?
        var nextAttempt = Date.distantPast
        var lastTick = Date.distantPast
        var warned = false
        metrics.setSelfSourcedSynDetection(mode: "counter")
        while !thread.isStopping {
            if installProbe, probe == nil, Date() >= nextAttempt {
                do {
                    probe = try SynProbe(group: UInt16(settings.probeLogGroup), ratePerSecond: settings.probeRatePerSecond)
                    warned = false
                    metrics.setSelfSourcedSynDetection(mode: "probe")
                    logger.notice(
                        "self-sourced SYN probe installed",
                        metadata: ["table": "inet \(SynProbeRule.table)", "group": "\(settings.probeLogGroup)"])
                    if let error = probe?.conntrackError {
                        logger.warning(
                            "no ctnetlink socket: self-sourced SYNs are detected but their frontend cannot be named",
                            metadata: ["error": "\(error)"])
                    }
                } catch {
                    nextAttempt = Date().addingTimeInterval(30)
                    if !warned {
                        warned = true
                        logger.warning(
                            "cannot install the self-sourced SYN probe; using the in_martian_src counter (no frontend names); retrying every 30 s",
                            metadata: ["error": "\(error)", "group": "\(settings.probeLogGroup)"])
                    }
                }
            }
            if let active = probe {
                do {
                    try active.receive { packet in handle(packet, probe: active) }
                } catch {
                    if case .overrun = error.kind {
                        metrics.countProbeLoss()
                    } else {
                        probe = drop(active, error)
                        nextAttempt = Date().addingTimeInterval(5)
                    }
                }
            } else {
                thread.pause(seconds: 0.25)
            }
            let now = Date()
            guard now.timeIntervalSince(lastTick) >= 1 else { continue }
            lastTick = now
            if let active = probe {
                do {
                    let check = try active.verify()
                    metrics.countSelfSourcedSynDrops(check.matched)
                    if check.reinstalled {
                        metrics.countProbeReinstall()
                        logger.warning(
                            "the self-sourced SYN probe's nftables table was flushed, deleted or changed by someone else; recreated it",
                            metadata: ["table": "inet \(SynProbeRule.table)"])
                    }
                } catch {
                    probe = drop(active, error)
                    nextAttempt = now.addingTimeInterval(5)
                }
            }
            counter.poll(reporting: probe == nil, at: now)
            metrics.setSelfSourcedSynDetection(mode: probe != nil ? "probe" : counter.readable ? "counter" : "none")
            for finding in findings.expire(kind: .selfSourcedSynDrop, lastSeenBefore: now.addingTimeInterval(-settings.quietSeconds)) {
                _ = evidence.withLock { $0.removeValue(forKey: finding.key) }
                logger.notice(
                    "self-sourced SYN drop finding closed after a quiet period",
                    metadata: ["frontend": "\(finding.key)", "count": "\(finding.count)"])
            }
        }
        if let probe {
            do {
                try probe.remove()
                logger.notice("self-sourced SYN probe removed", metadata: ["table": "inet \(SynProbeRule.table)"])
            } catch {
                logger.error("cannot remove the self-sourced SYN probe's nftables table", metadata: ["error": "\(error)"])
            }
        }
    }

    private func drop(_ probe: SynProbe, _ error: NetlinkError) -> SynProbe? {
        logger.warning("self-sourced SYN probe failed; using the in_martian_src counter until it is back", metadata: ["error": "\(error)"])
        try? probe.remove()
        return nil
    }

    private func handle(_ packet: NflogPacket, probe: SynProbe) {
        guard packet.group == settings.probeLogGroup, let header = packet.header, header.isTCPSyn else { return }
        metrics.countProbePacket()
        let now = Date()
        let interface = packet.inputInterface.flatMap { index in state.read { $0.links[InterfaceIndex(Int32(bitPattern: index))]?.name } }
        let frontend = probe.frontend(of: header, at: now) { flows in
            state.read { model in SelfSourcedSyn.frontend(of: header, among: flows, isLocal: { model.isLocalEndpoint($0) }) }
        }
        guard let syn = SelfSourcedSyn(packet: packet, frontend: frontend, interface: interface) else { return }
        let key = SelfSourcedSynEvidence.key(for: syn)
        let entry = evidence.withLock { all in
            var entry = all[key] ?? SelfSourcedSynEvidence()
            entry.add(syn)
            all[key] = entry
            return entry
        }
        let opened = findings.report(
            kind: .selfSourcedSynDrop, key: key, summary: entry.summary(frontend: key),
            evidence: entry.json(frontend: key, detection: detection),
            remediation: HairpinReporter.remediation, at: now)
        if opened {
            logger.warning(
                "self-sourced SYN drop: the node's own connection comes back to it",
                metadata: [
                    "frontend": "\(key)", "source": "\(syn.source)", "target": "\(syn.target)", "interface": "\(syn.interface ?? "?")",
                    "senderMAC": "\(syn.senderMAC ?? "?")",
                ])
        }
    }
}
