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

/// A path finding: `public_path_degraded` for the incident (public lossy, private fine),
/// `path_degraded` with `evidence.path` = `private` or `node` for the others, so that alerts and
/// runbooks keyed on `public_path_degraded` only ever lead to the edge remediation, never to it
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
        let degraded: [PathClass]
        switch assessment.verdict {
        case .healthy: return nil
        case .public: degraded = [.public]
        case .private: degraded = [.private]
        case .node: degraded = [.public, .private]
        }
        let classes = degraded.map { assessment[$0] }
        let confidence: PathDegradationDetector.Confidence = classes.allSatisfy { $0.confidence == .high } ? .high : .low
        let direction = LossDirection(
            send: classes.contains { [.send, .both].contains($0.peers.direction) },
            receive: classes.contains { [.receive, .both].contains($0.peers.direction) })
        let text = PathFindingText(assessment: assessment, thresholds: thresholds)
        let window = Int(assessment.windowSeconds)
        let losing = "losing packets \(text.phrase(direction))"
        switch assessment.verdict {
        case .healthy:
            return nil
        case .public:
            kind = .publicPathDegraded
            summary =
                "The public path is \(losing) while \(text.other(.private)): over the last \(window) s, \(text.side(.public)); \(text.side(.private))."
            remediation = .publicPath
        case .node:
            kind = .pathDegraded
            summary =
                "Both the public and the private path are \(losing), which points at the node itself rather than either path: over the last \(window) s, \(text.side(.public)); \(text.side(.private))."
            remediation = .node
        case .private:
            kind = .pathDegraded
            summary =
                "The private path is \(losing) while \(text.other(.public)): over the last \(window) s, \(text.side(.private)); \(text.side(.public))."
            remediation = .privatePath
        }
        key = assessment.verdict.rawValue
        summary += text.worst + (confidence == .low ? text.lowConfidence(degraded) : "")
        evidence = PathEvidence(
            path: assessment.verdict.rawValue, confidence: confidence, direction: direction, windowSeconds: assessment.windowSeconds,
            untrackedPeers: assessment.untrackedPeers, public: .init(assessment[.public]), private: .init(assessment[.private]),
            worstPeers: assessment.worstPeers.map(PathEvidence.PeerEvidence.init), thresholds: .init(thresholds),
            kernelCountersInWindow: Dictionary(kernelDeltas.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
            nicAllowanceCounters: .init(nic))
    }
}
