import Netlink

/// Turns conntrack events into hairpins that did harm.
///
/// The correlator pairs an outbound flow `S:p → F` with a flow `S:p → L` back to this node. That
/// pairing alone is not a hairpin: Linux reuses an ephemeral port for different destinations,
/// gossip speaks from a fixed port, and a hairpin whose replies come back works. A pair becomes
/// a hairpin only with evidence of harm, while the outbound flow through the frontend has never
/// been answered (`SEEN_REPLY`: a frontend that answered is a working connection that only
/// shared the source port):
///
/// - TCP: the flow back to this node is reset (`CLOSE`) or ends without ever being ASSURED, or
///   the outbound flow ends unanswered, or the flow back has not seen a single reply after
///   ``unansweredFor`` (pods on one bridge answer each other past the node's conntrack, so
///   there may be no reset to see);
/// - UDP and others, where one-way traffic is normal: the local target answered (its replies
///   went to a socket that was talking to the frontend) and one of the two flows ended.
///
/// A pair whose outbound flow is answered, or whose flow back becomes ASSURED, is dropped.
/// Pure and clock-injected; bounded like the correlator.
public struct HairpinDetector: Sendable {
    private struct Candidate {
        var match: HairpinCorrelator.Match
        var since: ContinuousClock.Instant
        /// The flow back to this node saw a reply (a SYN-ACK from the local target).
        var backAnswered = false
        var isTCP: Bool { match.protocolNumber == .tcp }
    }

    public private(set) var correlator: HairpinCorrelator
    /// Pairs waiting for evidence, by the conntrack id of the flow back to this node.
    private var candidates: [UInt32: Candidate] = [:]
    /// The same pairs by the outbound flow's id.
    private var byFrontendFlow: [UInt32: UInt32] = [:]
    private var order: [UInt32] = []
    /// A pair that saw neither harm nor an answer for this long is forgotten (its events were
    /// lost in an overrun, say).
    public static let candidateLifetime = Duration.seconds(600)
    /// A working connection is answered within milliseconds; a SYN unanswered for this long has
    /// been retransmitted twice.
    public static let unansweredFor = Duration.seconds(3)

    public init(window: Duration, capacity: Int) {
        correlator = HairpinCorrelator(window: window, capacity: capacity)
    }

    public var trackedCount: Int { correlator.trackedCount + candidates.count }

    /// Returns the hairpin this event proves harmful, if any.
    public mutating func observe(_ event: ConntrackEvent, at now: ContinuousClock.Instant, isLocal: (IPAddress) -> Bool)
        -> HairpinCorrelator.Match?
    {
        let flow = event.flow
        switch event.type {
        case .new:
            guard let match = correlator.observeNew(flow, at: now, isLocal: isLocal), let id = match.hairpinFlowID else { return nil }
            track(Candidate(match: match, since: now), id: id)
            return nil
        case .update, .destroy:
            guard let id = flow.id else { return nil }
            let ended = event.type == .destroy
            if flow.status.contains(.seenReply) || flow.status.contains(.assured) { correlator.forgetOutbound(flow) }
            if let hairpinID = byFrontendFlow[id] {
                // The outbound leg: answered means a reused port; dying unanswered is harm.
                if flow.status.contains(.seenReply) {
                    drop(hairpinID)
                } else if ended, let candidate = candidates[hairpinID], candidate.isTCP || candidate.backAnswered {
                    return confirm(hairpinID)
                }
                return nil
            }
            guard var candidate = candidates[id] else { return nil }
            if flow.status.contains(.assured) {
                drop(id)
                return nil
            }
            if flow.status.contains(.seenReply) { candidate.backAnswered = true }
            candidates[id] = candidate
            if candidate.isTCP ? (ended || flow.tcpState == .close) : (ended && candidate.backAnswered) { return confirm(id) }
            if ended { drop(id) }
            return nil
        }
    }

    private mutating func track(_ candidate: Candidate, id: UInt32) {
        if candidates[id] != nil { drop(id) }
        candidates[id] = candidate
        if let frontendID = candidate.match.frontendFlowID { byFrontendFlow[frontendID] = id }
        order.append(id)
        while candidates.count > correlator.capacity, !order.isEmpty { drop(order.removeFirst()) }
        if order.count > 2 * correlator.capacity { order = order.filter { candidates[$0] != nil } }
    }

    private mutating func confirm(_ id: UInt32) -> HairpinCorrelator.Match? {
        let match = candidates[id]?.match
        drop(id)
        return match
    }

    private mutating func drop(_ id: UInt32) {
        guard let candidate = candidates.removeValue(forKey: id) else { return }
        if let frontendID = candidate.match.frontendFlowID, byFrontendFlow[frontendID] == id {
            byFrontendFlow.removeValue(forKey: frontendID)
        }
    }

    /// Forgets outbound flows older than the window and pairs older than their lifetime, and
    /// returns the TCP pairs whose flow back stayed unanswered for ``unansweredFor``; call about
    /// once a second, also when traffic is quiet.
    public mutating func expire(at now: ContinuousClock.Instant) -> [HairpinCorrelator.Match] {
        correlator.expire(before: now - correlator.window)
        var confirmed: [HairpinCorrelator.Match] = []
        for (id, candidate) in candidates {
            if now - candidate.since > Self.candidateLifetime {
                drop(id)
            } else if candidate.isTCP, !candidate.backAnswered, now - candidate.since >= Self.unansweredFor, let match = confirm(id) {
                confirmed.append(match)
            }
        }
        if order.count > 2 * candidates.count + 64 { order = order.filter { candidates[$0] != nil } }
        return confirmed.sorted { $0.time < $1.time }
    }
}
