import Foundation
import Netlink

/// An interface's cloud NIC allowance counters (ethtool statistics), for the evidence that the
/// NIC is not the problem.
public struct NICAllowanceReading: Sendable, Hashable {
    public var interface: String
    public var driver: String
    public var counters: [NICAllowance: UInt64]

    public init(interface: String, driver: String, counters: [NICAllowance: UInt64]) {
        self.interface = interface
        self.driver = driver
        self.counters = counters
    }
}

/// What a path verdict means for `/findings`: kind, key, summary, evidence and remediation.
///
/// Public degraded alone is `public_path_degraded` (key `public`), the incident: dashboards and
/// alerts key on that kind and its remediation is the edge's (re-associate the elastic address).
/// Private degraded alone and both degraded are `path_degraded` with `evidence.path` `private`
/// or `node` (keys the same): a different kind, because the edge remediation would be wrong for
/// them and an alert on `public_path_degraded` must not send the operator to re-map an address
/// when the node itself is sick.
public struct PathFinding: Sendable {
    public var kind: FindingKind
    public var key: String
    public var summary: String
    public var evidence: PathEvidence
    public var remediation: PathRemediation

    /// Every (kind, key) a path finding can have, so the caller can clear the ones not current.
    public static let all: [(FindingKind, String)] = [
        (.publicPathDegraded, "public"), (.pathDegraded, "private"), (.pathDegraded, "node"),
    ]

    /// The finding for `assessment`, or nil when the verdict is healthy.
    /// `kernelDeltas` are the growth of the kernel's TCP counters over the window.
    public init?(
        _ assessment: PathDegradationDetector.Assessment, nic: [NICAllowanceReading],
        kernelDeltas: [(name: String, value: Int64)], thresholds: PathDegradationDetector.Settings
    ) {
        let pub = assessment[.public]
        let priv = assessment[.private]
        func percent(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
        func side(_ path: PathClass) -> String {
            let w = assessment[path]
            return "\(path.rawValue) \(percent(w.retransmitRatio)) of \(w.bytesSent) bytes retransmitted, "
                + "\(w.collapsedSocketRounds) of \(w.activeSocketRounds) active socket samples with cwnd collapsed"
        }
        let worst = assessment.worstPeers.first.map { " Worst peer: \($0.address) (\(percent($0.retransmitRatio)) retransmitted)." } ?? ""
        let window = Int(assessment.windowSeconds)
        switch assessment.verdict {
        case .healthy:
            return nil
        case .public:
            kind = .publicPathDegraded
            key = "public"
            let privateState =
                priv.status == .idle ? "the private path carried too little traffic to compare" : "the private path is healthy"
            summary =
                "The public path is losing packets while \(privateState): over the last \(window) s, \(side(.public)); \(side(.private)).\(worst)"
            remediation = .publicPath
        case .node:
            kind = .pathDegraded
            key = assessment.verdict.rawValue
            summary =
                "Both the public and the private path are losing packets, which points at the node itself rather than either path: over the last \(window) s, \(side(.public)); \(side(.private)).\(worst)"
            remediation = .node
        case .private:
            kind = .pathDegraded
            key = assessment.verdict.rawValue
            let publicState =
                pub.status == .idle ? "the public path carried too little traffic to compare" : "the public path is healthy"
            summary =
                "The private path is losing packets while \(publicState): over the last \(window) s, \(side(.private)); \(side(.public)).\(worst)"
            remediation = .privatePath
        }
        evidence = PathEvidence(
            path: assessment.verdict.rawValue, windowSeconds: assessment.windowSeconds, public: .init(pub), private: .init(priv),
            worstPeers: assessment.worstPeers.map(PathEvidence.PeerEvidence.init),
            thresholds: .init(
                retransmitRatio: thresholds.retransmitRatio, collapsedShare: thresholds.collapsedShare, minBytes: thresholds.minBytes,
                sustainSeconds: thresholds.sustainSeconds),
            kernelCountersInWindow: Dictionary(kernelDeltas.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
            nicAllowanceCounters: .init(nic))
    }
}
