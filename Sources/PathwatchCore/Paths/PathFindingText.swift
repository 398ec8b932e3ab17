/// The sentences of the path findings' summaries, from one assessment.
struct PathFindingText {
    var assessment: PathDegradationDetector.Assessment
    var thresholds: PathDegradationDetector.Settings

    static func percent(_ x: Double) -> String { DecimalText.fixed(x * 100, digits: 1) + "%" }

    /// "in what the node sends" and so on.
    func phrase(_ direction: LossDirection) -> String {
        switch direction {
        case .send, .none: "in what the node sends"
        case .receive: "in what the node receives"
        case .both: "both ways"
        }
    }

    /// The class that is not degraded, in a few words.
    func other(_ path: PathClass) -> String {
        assessment[path].status == .idle
            ? "the \(path.rawValue) path carried too little traffic to compare" : "the \(path.rawValue) path is healthy"
    }

    /// What a class's verdict rests on: its peers, then its bytes.
    func side(_ path: PathClass) -> String {
        let w = assessment[path]
        let p = w.peers
        var text = "\(path.rawValue) \(p.lossy) of \(p.active) active peers lossy (\(Self.percent(p.lossyShare)) by weight"
        if let median = p.retransmitRatioP50, let p90 = p.retransmitRatioP90 {
            text += "; retransmit ratio per peer median \(Self.percent(median)), p90 \(Self.percent(p90))"
        }
        if let median = p.outOfOrderRatioP50, let p90 = p.outOfOrderRatioP90 {
            text += "; out-of-order ratio per peer median \(Self.percent(median)), p90 \(Self.percent(p90))"
        }
        text += ")"
        if w.bytesSent > 0 { text += ", \(Self.percent(w.retransmitRatio)) of \(w.bytesSent) bytes sent retransmitted" }
        if w.dataSegmentsIn > 0 {
            text += ", \(Self.percent(w.outOfOrderRatio)) of \(w.dataSegmentsIn) data segments received out of order"
        }
        return text
    }

    var worst: String {
        guard let peer = assessment.worstPeers.first, peer.isLossy else { return "" }
        var what: [String] = []
        if peer.bytesSent > 0 { what.append("\(Self.percent(peer.retransmitRatio)) retransmitted") }
        if peer.dataSegmentsIn > 0 { what.append("\(Self.percent(peer.outOfOrderRatio)) received out of order") }
        return " Worst peer: \(peer.address) (\(what.joined(separator: ", ")))."
    }

    func lowConfidence(_ classes: [PathClass]) -> String {
        let counts = classes.filter { assessment[$0].confidence == .low }.map {
            "\(assessment[$0].peers.active) active \($0.rawValue) peers"
        }.joined(separator: " and ")
        return " Low confidence: only \(counts) (paths.minPeers \(thresholds.minPeers)); a few peers' own last miles could look the same."
    }
}
