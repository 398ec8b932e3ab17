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
public struct PathFinding: Sendable, Hashable {
    public var kind: FindingKind
    public var key: String
    public var summary: String
    public var evidence: [String: JSONValue]
    public var remediation: [String: JSONValue]

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
            remediation = [
                "steps": .array([
                    .string(
                        "Re-associate the elastic/public IP (disassociate, then associate it again): the edge's NAT mapping for this address may be pinned to a degraded path, which a stop/start or reboot does not change."
                    ),
                    .string(
                        "Confirm from a second external path (another ISP, a VPN, a cellular hotspot, a host in another region) that the loss follows this address and not one client's route."
                    ),
                    .string(
                        "Compare with a private peer (jump host in the same network): clean there and lossy here means the problem is above the instance, not in it."
                    ),
                ]),
                "notDoing": .string("A stop/start, resize or migration does not remap the public address's edge path."),
            ]
        case .private, .node:
            kind = .pathDegraded
            key = assessment.verdict.rawValue
            if assessment.verdict == .node {
                summary =
                    "Both the public and the private path are losing packets, which points at the node itself rather than either path: over the last \(window) s, \(side(.public)); \(side(.private)).\(worst)"
                remediation = [
                    "steps": .array([
                        .string(
                            "Check the node: interface errors and drops, NIC allowance counters, CPU saturation and softirq time, qdisc drops (tc -s qdisc)."
                        ),
                        .string("Re-associating the public address will not help: the private path is degraded too."),
                    ])
                ]
            } else {
                let publicState =
                    pub.status == .idle ? "the public path carried too little traffic to compare" : "the public path is healthy"
                summary =
                    "The private path is losing packets while \(publicState): over the last \(window) s, \(side(.private)); \(side(.public)).\(worst)"
                remediation = [
                    "steps": .array([
                        .string(
                            "Check the private peers named below and the provider network between them (security groups, NACLs, peering, the peers' own NICs)."
                        ),
                        .string("Re-associating the public address will not help: the public path is fine."),
                    ])
                ]
            }
        }
        var evidence: [String: JSONValue] = [
            "path": .string(assessment.verdict.rawValue),
            "windowSeconds": .number(assessment.windowSeconds),
            "public": Self.json(pub),
            "private": Self.json(priv),
            "worstPeers": .array(assessment.worstPeers.map(Self.json)),
            "thresholds": .object([
                "retransmitRatio": .number(thresholds.retransmitRatio), "collapsedShare": .number(thresholds.collapsedShare),
                "minBytes": .number(Double(thresholds.minBytes)), "sustainSeconds": .number(thresholds.sustainSeconds),
            ]),
            "kernelCountersInWindow": .object(Dictionary(uniqueKeysWithValues: kernelDeltas.map { ($0.name, .number(Double($0.value))) })),
        ]
        if nic.isEmpty {
            evidence["nicAllowanceCounters"] = .object([
                "available": .bool(false),
                "note": .string(
                    "no interface driver on this node exposes *_allowance_exceeded ethtool statistics (AWS ENA does); the NIC could not be ruled out this way"
                ),
            ])
        } else {
            let total = nic.reduce(UInt64(0)) { $0 + $1.counters.values.reduce(0, +) }
            evidence["nicAllowanceCounters"] = .object([
                "available": .bool(true),
                "allZero": .bool(total == 0),
                "interfaces": .object(
                    Dictionary(
                        uniqueKeysWithValues: nic.map { reading in
                            (
                                reading.interface,
                                JSONValue.object(
                                    Dictionary(
                                        uniqueKeysWithValues: reading.counters.map {
                                            ($0.key.statisticName, JSONValue.number(Double($0.value)))
                                        }
                                    ).merging(["driver": .string(reading.driver)]) { a, _ in a })
                            )
                        })),
            ])
        }
        self.evidence = evidence
    }

    static func json(_ w: PathDegradationDetector.ClassWindow) -> JSONValue {
        var object: [String: JSONValue] = [
            "status": .string(w.status.rawValue),
            "degraded": .bool(w.raised),
            "bytesSent": .number(Double(w.bytesSent)),
            "bytesRetransmitted": .number(Double(w.bytesRetransmitted)),
            "retransmitRatio": .number(w.retransmitRatio),
            "retransmittedSegments": .number(Double(w.retransmittedSegments)),
            "collapsedCwndShare": .number(w.collapsedShare),
            "sockets": .number(Double(w.latest.sockets)),
            "activeSockets": .number(Double(w.latest.activeSockets)),
            "collapsedCwndSockets": .number(Double(w.latest.collapsedSockets)),
            "recoveringSockets": .number(Double(w.latest.recoveringSockets)),
            "deliveryRateBytesPerSecond": .number(Double(w.latest.deliveryRate)),
        ]
        func put(_ name: String, _ value: UInt64?) { if let value { object[name] = .number(Double(value)) } }
        put("cwndP10", w.latest.congestionWindows.quantile(0.1))
        put("cwndP50", w.latest.congestionWindows.quantile(0.5))
        put("ssthreshP50", w.latest.slowStartThresholds.quantile(0.5))
        put("rttP50Microseconds", w.latest.roundTripTimes.quantile(0.5))
        put("rttP90Microseconds", w.latest.roundTripTimes.quantile(0.9))
        return .object(object)
    }

    static func json(_ peer: PeerSample) -> JSONValue {
        .object([
            "address": .string(peer.address.description),
            "path": .string(peer.path.rawValue),
            "sockets": .number(Double(peer.sockets)),
            "bytesSent": .number(Double(peer.bytesSent)),
            "bytesRetransmitted": .number(Double(peer.bytesRetransmitted)),
            "retransmitRatio": .number(peer.retransmitRatio),
            "smallestCwnd": .number(Double(peer.smallestCongestionWindow == .max ? 0 : peer.smallestCongestionWindow)),
            "largestRttMicroseconds": .number(Double(peer.largestRTT)),
        ])
    }
}
