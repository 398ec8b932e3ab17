import Netlink

/// The conntrack entries the detectors read, keyed by conntrack id, in packed records.
///
/// Fed by NEW/UPDATE/DESTROY events and rebuilt from a (streamed) table dump after an overrun.
/// It holds only the flows the caller selects (`isTracked` on the original source: the
/// live-traffic route scan reads flows sourced from the node's own addresses) and at most
/// `maxFlows` of them, so no node, however busy, can push the agent past its memory limit: a flow
/// beyond the bound is counted in ``untrackedForBound`` and not stored.
///
/// The table's own size is not the node's conntrack count: that comes from the kernel's
/// statistics (`pathwatch_conntrack_entries`).
public struct ConntrackTable: Sendable {
    private var v4: [UInt32: PackedFlowV4] = [:]
    private var v6: [UInt32: PackedFlowV6] = [:]
    /// The most flows kept; further NEW flows are counted, not stored.
    public let maxFlows: Int
    /// Events whose flow carried no id (never sent by current kernels); counted, not stored.
    public private(set) var flowsWithoutID = 0
    /// Flows not stored because the table was at ``maxFlows`` (since the table was made).
    public private(set) var untrackedForBound = 0

    public init(maxFlows: Int = .max, reservingCapacity capacity: Int = 0) {
        self.maxFlows = max(0, maxFlows)
        if capacity > 0 { v4.reserveCapacity(min(capacity, self.maxFlows)) }
    }

    public var count: Int { v4.count + v6.count }
    public var isFull: Bool { count >= maxFlows }

    /// The flow with conntrack id `id`, if tracked.
    public func flow(id: UInt32) -> TrackedFlow? {
        if let packed = v4[id] { return TrackedFlow(packed) }
        return v6[id].map(TrackedFlow.init)
    }

    /// Visits every tracked flow, in no particular order.
    public func forEach(_ body: (UInt32, TrackedFlow) -> Void) {
        for (id, packed) in v4 { body(id, TrackedFlow(packed)) }
        for (id, packed) in v6 { body(id, TrackedFlow(packed)) }
    }

    /// Applies one event. `isTracked` decides by original source whether a flow belongs here;
    /// an UPDATE or DESTROY of a flow that is not here is ignored unless it would be selected.
    public mutating func apply(_ event: ConntrackEvent, isTracked: (IPAddress) -> Bool = { _ in true }) {
        guard let id = event.flow.id else {
            flowsWithoutID += 1
            return
        }
        switch event.type {
        case .new, .update:
            if event.type == .update, var known = flow(id: id) {
                // UPDATE events carry tuples and status, but the TCP state only when it changed.
                known.status = event.flow.status
                if let state = event.flow.tcpState { known.tcpState = state }
                store(known, id: id, isNew: false)
            } else if isTracked(event.flow.original.source) {
                store(TrackedFlow(event.flow), id: id, isNew: true)
            }
        case .destroy:
            if v4.removeValue(forKey: id) == nil { v6.removeValue(forKey: id) }
        }
    }

    /// Adds a flow from a dump (see ``LiveConntrackTable`` for the streamed rebuild).
    public mutating func insert(_ flow: ConntrackFlow, isTracked: (IPAddress) -> Bool = { _ in true }) {
        guard let id = flow.id else {
            flowsWithoutID += 1
            return
        }
        guard isTracked(flow.original.source) else { return }
        store(TrackedFlow(flow), id: id, isNew: v4[id] == nil && v6[id] == nil)
    }

    /// Replaces the contents with `fresh` (tests, small tables; the agent streams a dump into a
    /// new table instead of building an array).
    public mutating func replaceAll(_ fresh: some Sequence<ConntrackFlow>, isTracked: (IPAddress) -> Bool = { _ in true }) {
        v4.removeAll(keepingCapacity: true)
        v6.removeAll(keepingCapacity: true)
        for flow in fresh { insert(flow, isTracked: isTracked) }
    }

    private mutating func store(_ flow: TrackedFlow, id: UInt32, isNew: Bool) {
        if isNew, count >= maxFlows {
            untrackedForBound += 1
            return
        }
        if let packed = flow.packedV4 {
            v4[id] = packed
        } else if let packed = flow.packedV6 {
            v6[id] = packed
        }
    }
}
