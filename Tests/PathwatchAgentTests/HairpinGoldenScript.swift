import Foundation
import Logging
import Netlink
import PathwatchCore

@testable import PathwatchAgent

/// Drives the hairpin and self-sourced SYN slices through a fixed scenario for the golden test.
enum GoldenHairpinScript {
    typealias T = HairpinFindingsGoldenTests

    static func run(findings: FindingsRegistry, t0: Date) throws {
        let logger = Logger(label: "golden")
        let metrics = AgentMetrics(version: "t", commit: "t")
        let state = LiveNodeState(requiredParts: [])
        for address in ["10.0.1.10", "10.0.1.20", "10.0.1.21"] {
            state.apply(.addressAdded(InterfaceAddress(interface: InterfaceIndex(2), address: IPAddress(address)!, prefixLength: 24)))
        }
        // Pod hairpin: one unanswered, one answered, through 10.0.9.9:80.
        let reporter = HairpinReporter(settings: AgentConfig.HairpinSettings(), findings: findings, metrics: metrics, logger: logger)
        reporter.observe(
            [
                ConntrackEvent(type: .new, flow: T.flow(1, "10.0.1.20", 35220, "10.0.9.9", 80)),
                ConntrackEvent(type: .new, flow: T.flow(2, "10.0.1.20", 35220, "10.0.1.21", 8080)),
            ], state: state, at: t0)
        reporter.observe([ConntrackEvent(type: .destroy, flow: T.flow(2, "10.0.1.20", 35220, "10.0.1.21", 8080))], state: state, at: t0 + 1)
        reporter.observe(
            [
                ConntrackEvent(type: .new, flow: T.flow(3, "10.0.1.20", 35221, "10.0.1.21", 8080)),
                ConntrackEvent(type: .new, flow: T.flow(4, "10.0.1.20", 35221, "10.0.9.9", 80)),
                ConntrackEvent(type: .update, flow: T.flow(3, "10.0.1.20", 35221, "10.0.1.21", 8080, status: [.assured])),
                ConntrackEvent(type: .destroy, flow: T.flow(3, "10.0.1.20", 35221, "10.0.1.21", 8080, status: [.assured])),
            ], state: state, at: t0 + 2)

        // Instance hairpin from the probe: a named frontend and an unknown one.
        let detection = "probe: nftables table inet pathwatch logs to nfnetlink_log group 196; frontend from conntrack"
        var named = SelfSourcedSynEvidence()
        let frontend = HairpinCorrelator.Endpoint(address: IPAddress("10.0.9.9")!, port: 80)
        for (i, port) in [UInt16(40000), 40000, 40001].enumerated() {
            let syn = try require(
                SelfSourcedSyn(packet: T.syn("10.0.1.10", port, "10.0.1.10", 8080), frontend: frontend, interface: "eth0"))
            named.add(syn)
            findings.report(
                kind: .selfSourcedSynDrop, key: SelfSourcedSynEvidence.key(for: syn), summary: named.summary(frontend: "10.0.9.9:80"),
                evidence: named.json(frontend: "10.0.9.9:80", detection: detection), remediation: HairpinReporter.remediation,
                at: t0 + 3 + Double(i))
        }
        var unknown = SelfSourcedSynEvidence()
        let lost = try require(SelfSourcedSyn(packet: T.syn("10.0.1.10", 41000, "10.0.1.10", 9090), frontend: nil, interface: nil))
        unknown.add(lost)
        findings.report(
            kind: .selfSourcedSynDrop, key: SelfSourcedSynEvidence.key(for: lost), summary: unknown.summary(frontend: "unknown"),
            evidence: unknown.json(frontend: "unknown", detection: detection), remediation: HairpinReporter.remediation, at: t0 + 7)

        // Counter mode: in_martian_src rises by 3.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rt_cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        func write(_ value: UInt64) throws {
            try "entries  in_martian_src\n00000000  \(String(value, radix: 16, uppercase: false).leftPadded(8))\n".write(
                to: file, atomically: true, encoding: .utf8)
        }
        let counter = MartianCounter(path: file.path, findings: findings, metrics: metrics, logger: logger)
        try write(10)
        counter.poll(reporting: true, at: t0 + 8)
        try write(13)
        counter.poll(reporting: true, at: t0 + 9)
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// `#require` outside a test function.
func require<T>(_ value: T?, _ what: String = "value") throws -> T {
    guard let value else { throw GoldenError(what: what) }
    return value
}

struct GoldenError: Error {
    var what: String
}
