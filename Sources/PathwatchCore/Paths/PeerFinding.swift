/// `peer_path_degraded`: one peer losing packets while its path is fine for the others.
///
/// Low severity by contract: the default alerts do not match it and it never pages. It makes a
/// bad last mile visible — and tells the on-call engineer it is not the node's — without the
/// node-level path finding, which needs breadth.
public struct PeerFinding: Sendable {
    public static let kind = FindingKind.peerPathDegraded
    public var key: String
    public var summary: String
    public var evidence: PeerEvidence
    public var remediation = PathRemediation.peer

    /// The peer and, for comparison, how its class is doing.
    public struct PeerEvidence: FindingDetail, Hashable {
        public var peer: PathEvidence.PeerEvidence
        public var path: String
        public var windowSeconds: Double
        /// The peer's class: how many of its active peers are lossy.
        public var classPeers: PathEvidence.PeersEvidence
        public var thresholds: PathEvidence.Thresholds
    }

    public init(_ peer: PeerWindow, in assessment: PathDegradationDetector.Assessment, thresholds: PathDegradationDetector.Settings) {
        key = peer.key.description
        let breadth = assessment[peer.path].peers
        let text = PathFindingText(assessment: assessment, thresholds: thresholds)
        let clean = breadth.active - breadth.lossy
        var what: [String] = []
        if peer.lossy != .receive {
            what.append("\(PathFindingText.percent(peer.retransmitRatio)) of \(peer.bytesSent) bytes sent to it retransmitted")
        }
        if peer.lossy != .send {
            what.append("\(PathFindingText.percent(peer.outOfOrderRatio)) of its data arriving out of order")
        }
        summary =
            "Peer \(peer.key) (\(peer.address), \(peer.path.rawValue) path) is losing packets \(text.phrase(peer.lossy)): "
            + "\(what.joined(separator: ", ")) over the last \(Int(assessment.windowSeconds)) s, while \(clean) of "
            + "\(breadth.active) active \(peer.path.rawValue) peers are clean. That is the peer's own last mile or route, "
            + "not this node's path: informational."
        evidence = PeerEvidence(
            peer: .init(peer), path: peer.path.rawValue, windowSeconds: assessment.windowSeconds, classPeers: .init(breadth),
            thresholds: .init(thresholds))
    }
}
