import FoundationEssentials
import Logging
import PathwatchCore
import ServiceLifecycle

/// `pathwatch doctor`: the first command an operator runs on a suspect node. Watches the node
/// for a few seconds with every detector, prints what it found, and exits 0 (nothing found),
/// 1 (something found) or 2 (it could not look). It never changes the node: auto-fix is forced
/// off whatever the config says, and it serves nothing.
public enum Doctor {
    public static func run(loader: ConfigLoader, duration: Double, json: Bool, version: String, commit: String) async -> Int32 {
        var config: AgentConfig
        do {
            config = try loader.load()
        } catch {
            printError("pathwatch doctor: configuration refused: \(error)")
            return 2
        }
        config.autofix = .off
        // Only errors: the findings themselves are the report, on standard output.
        let logSettings = LogSettings(level: .error, format: config.logFormat)
        LoggingSystem.bootstrap { label in AgentLogHandler(label: label, settings: logSettings) }
        let logger = Logger(label: "pathwatch-doctor")
        if let message = Capabilities.missingPrivilegeMessage(conntrackEnabled: config.conntrack.enabled) {
            printError("pathwatch doctor: \(message)")
            return 2
        }
        let parts = DetectionParts(config: config, metrics: AgentMetrics(version: version, commit: commit), logger: logger)
        let frozen = config
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: parts.services(config: config, configuration: { frozen }, installProbe: false, logger: logger).map {
                    ServiceGroupConfiguration.ServiceConfiguration(service: $0)
                },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        let started = Date()
        async let running: Void = group.run()
        try? await Task.sleep(for: .seconds(duration))
        await group.triggerGracefulShutdown()
        do {
            try await running
        } catch {
            printError("pathwatch doctor: \(error)")
            return 2
        }
        guard parts.state.isReady else {
            printError(
                "pathwatch doctor: could not read the node's state within \(Int(duration)) s (waiting for \(parts.state.pendingParts.sorted().joined(separator: ", ")))"
            )
            return 2
        }
        var notes: [String] = []
        if let conntrack = parts.conntrack, !conntrack.kernelHasFlows {
            notes.append(
                "conntrack is inactive in this network namespace (no entries, no events): hairpin detection from conntrack saw nothing; it becomes active once an nft ct rule, NAT, kube-proxy or Docker uses it"
            )
        }
        if !config.conntrack.enabled { notes.append("conntrack is disabled in the configuration: no hairpin or live-traffic detection") }
        if config.subnetRoutes.isEmpty, !config.discovery.metadata {
            notes.append(
                "no subnetRoutes configured: missing subnet routes are found only from live traffic (unreplied flows, unanswered neighbour entries)"
            )
        }
        let findings = parts.findings.snapshot()
        let elapsed = Date().timeIntervalSince(started)
        print(json ? jsonReport(findings, notes: notes, seconds: elapsed) : textReport(findings, notes: notes, seconds: elapsed))
        return findings.isEmpty ? 0 : 1
    }

    static func textReport(_ findings: [Finding], notes: [String], seconds: Double) -> String {
        var lines = [
            "pathwatch doctor: \(findings.count) finding\(findings.count == 1 ? "" : "s") after watching this node for \(Int(seconds.rounded())) s"
        ]
        for finding in findings {
            lines.append("")
            lines.append("[\(finding.kind.rawValue)] \(finding.summary)")
            let (evidence, remediation) = (finding.evidenceJSON, finding.remediationJSON)
            for (key, value) in evidence.sorted(by: { $0.key < $1.key }) { lines.append("  \(key): \(render(value))") }
            if case .array(let commands)? = remediation["commands"] {
                for command in commands { lines.append("  fix: \(render(command))") }
            }
            if case .string(let text)? = remediation["text"] { lines.append("  why: \(text)") }
            if case .array(let options)? = remediation["options"] {
                for option in options { lines.append("  option: \(render(option))") }
            }
        }
        for note in notes { lines.append("note: \(note)") }
        return lines.joined(separator: "\n")
    }

    static func render(_ value: JSONValue) -> String {
        switch value {
        case .string(let s): s
        case .number(let n): n.rounded() == n ? String(Int(n)) : String(n)
        case .bool(let b): String(b)
        case .array(let a): a.map(render).joined(separator: ", ")
        case .object(let o): o.keys.sorted().map { "\($0)=\(render(o[$0]!))" }.joined(separator: " ")
        case .null: "null"
        }
    }

    static func jsonReport(_ findings: [Finding], notes: [String], seconds: Double) -> String {
        struct Report: Encodable {
            var findings: [Finding]
            var notes: [String]
            var watchedSeconds: Double
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(Report(findings: findings, notes: notes, watchedSeconds: (seconds * 10).rounded() / 10))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
