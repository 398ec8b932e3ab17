import Netlink

/// The conntrack entries of this namespace, as the agent last saw them, keyed by conntrack id.
///
/// Fed by NEW/UPDATE/DESTROY events and replaced wholesale by a table dump after an overrun,
/// so its size matches `conntrack -C` and a detector can look a flow up by id.
public struct ConntrackTable: Sendable {
    public private(set) var flows: [UInt32: ConntrackFlow] = [:]
    /// Events whose flow carried no id (never sent by current kernels); counted, not stored.
    public private(set) var flowsWithoutID = 0

    public init() {}

    public var count: Int { flows.count }

    public mutating func apply(_ event: ConntrackEvent) {
        guard let id = event.flow.id else {
            flowsWithoutID += 1
            return
        }
        switch event.type {
        case .new, .update:
            if var known = flows[id], event.type == .update {
                // UPDATE events carry tuples and status, but the TCP state only when it changed.
                known.status = event.flow.status
                if let state = event.flow.tcpState { known.tcpState = state }
                if let timeout = event.flow.timeout { known.timeout = timeout }
                flows[id] = known
            } else {
                flows[id] = event.flow
            }
        case .destroy:
            flows.removeValue(forKey: id)
        }
    }

    public mutating func replaceAll(_ fresh: [ConntrackFlow]) {
        flows.removeAll(keepingCapacity: true)
        for flow in fresh {
            if let id = flow.id { flows[id] = flow }
        }
    }
}
