import Netlink

/// Turns conntrack events into hairpin observations: each hairpinned flow as it is recognised,
/// and later whether it ever became ASSURED (a hairpin that works) or died without a reply (the
/// incident's failing SYNs). Pure and clock-injected; the agent turns observations into
/// findings, metrics and log lines.
public struct HairpinDetector: Sendable {
    public enum Observation: Sendable, Hashable {
        case hairpin(HairpinCorrelator.Match)
        /// The hairpinned flow through `frontend` was destroyed; `assured` says whether it had
        /// ever been answered.
        case outcome(frontend: HairpinCorrelator.Endpoint, assured: Bool)
    }

    public private(set) var correlator: HairpinCorrelator
    /// Hairpinned flows still open, by conntrack id: their frontend and whether they were
    /// assured. Bounded like the correlator.
    private var open: [UInt32: (frontend: HairpinCorrelator.Endpoint, assured: Bool)] = [:]
    private var openOrder: [UInt32] = []

    public init(window: Duration, capacity: Int) {
        correlator = HairpinCorrelator(window: window, capacity: capacity)
    }

    public var trackedCount: Int { correlator.trackedCount + open.count }

    public mutating func observe(_ event: ConntrackEvent, at now: ContinuousClock.Instant, isLocal: (IPAddress) -> Bool) -> Observation? {
        switch event.type {
        case .new:
            guard let match = correlator.observeNew(event.flow, at: now, isLocal: isLocal) else { return nil }
            if let id = match.hairpinFlowID {
                open[id] = (match.frontend, event.flow.status.contains(.assured))
                openOrder.append(id)
                while open.count > correlator.capacity, !openOrder.isEmpty { open.removeValue(forKey: openOrder.removeFirst()) }
                if openOrder.count > 2 * correlator.capacity { openOrder = openOrder.filter { open[$0] != nil } }
            }
            return .hairpin(match)
        case .update:
            if let id = event.flow.id, event.flow.status.contains(.assured), open[id] != nil { open[id]?.assured = true }
            return nil
        case .destroy:
            guard let id = event.flow.id, let entry = open.removeValue(forKey: id) else { return nil }
            return .outcome(frontend: entry.frontend, assured: entry.assured || event.flow.status.contains(.assured))
        }
    }

    /// Forgets outbound flows older than the window; call now and then when traffic is quiet.
    public mutating func expire(at now: ContinuousClock.Instant) {
        correlator.expire(before: now - correlator.window)
    }
}
