import Netlink

/// Turns conntrack events into hairpins that did harm.
///
/// The correlator pairs an outbound flow `S:p → F` with a flow `S:p → L` back to this node. That
/// pairing alone is not a hairpin: Linux reuses an ephemeral port for different destinations,
/// gossip speaks from a fixed port, and a hairpin whose replies come back works. A pair becomes
/// a hairpin only with evidence of harm:
///
/// - the flow back to this node is reset (TCP `CLOSE`) or ends without ever being ASSURED, or
///   the outbound flow through the frontend ends without an answer,
/// - while the outbound flow has never been answered (`SEEN_REPLY`): a frontend that answered
///   is a working connection that happened to share the source port.
///
/// A pair whose outbound flow is answered, or whose flow back becomes ASSURED, is dropped.
/// Pure and clock-injected; bounded like the correlator.
public struct HairpinDetector: Sendable {
    private struct Candidate {
        var match: HairpinCorrelator.Match
        var since: ContinuousClock.Instant
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
            if flow.status.contains(.seenReply) || flow.status.contains(.assured) { correlator.forgetOutbound(flowID: id) }
            if let hairpinID = byFrontendFlow[id] {
                // The outbound leg: answered means a reused port; dying unanswered is harm.
                if flow.status.contains(.seenReply) {
                    drop(hairpinID)
                } else if ended {
                    return confirm(hairpinID)
                }
                return nil
            }
            guard candidates[id] != nil else { return nil }
            if flow.status.contains(.assured) {
                drop(id)
                return nil
            }
            if ended || flow.tcpState == .close { return confirm(id) }
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

    /// Forgets outbound flows older than the window and pairs older than their lifetime; call
    /// now and then when traffic is quiet.
    public mutating func expire(at now: ContinuousClock.Instant) {
        correlator.expire(before: now - correlator.window)
        for (id, candidate) in candidates where now - candidate.since > Self.candidateLifetime { drop(id) }
        if order.count > 2 * candidates.count + 64 { order = order.filter { candidates[$0] != nil } }
    }
}
