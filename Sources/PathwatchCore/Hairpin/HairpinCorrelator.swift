import Netlink

/// Recognises hairpinned connections in the conntrack event stream.
///
/// The fingerprint (the "Five-Second Ghosts" incident, reproduced in DESIGN.md): a node-local
/// endpoint `S:p` opens a flow to a non-local frontend `F:fp`; a load balancer that preserves the
/// client address sends it back, so a second flow appears with the *same* source `S:p` and
/// protocol whose destination `L:lp` is hosted on this node. The SYN-ACK then comes from `L`, not
/// `F`, and the client rejects it: the hairpinned flow never becomes ASSURED.
///
/// Memory is bounded: outbound flows are remembered for `window` (monotonic time), at most `capacity`
/// of them (oldest evicted first), so a SYN flood of unique sources cannot grow it.
public struct HairpinCorrelator: Sendable {
    /// One hairpin: the outbound flow through the frontend and its return to this node.
    public struct Match: Sendable, Hashable {
        public var frontend: Endpoint
        public var source: Endpoint
        public var localTarget: Endpoint
        public var protocolNumber: IPProtocolNumber
        /// Conntrack id of the hairpinned (second) flow, to follow whether it is ever ASSURED.
        public var hairpinFlowID: UInt32?
        public var time: ContinuousClock.Instant
        /// Conntrack id of the outbound flow through the frontend, to follow whether it is ever
        /// answered (then it was only a reused source port).
        public var frontendFlowID: UInt32? = nil

        public init(
            frontend: Endpoint, source: Endpoint, localTarget: Endpoint, protocolNumber: IPProtocolNumber, hairpinFlowID: UInt32?,
            time: ContinuousClock.Instant, frontendFlowID: UInt32? = nil
        ) {
            self.frontend = frontend
            self.source = source
            self.localTarget = localTarget
            self.protocolNumber = protocolNumber
            self.hairpinFlowID = hairpinFlowID
            self.time = time
            self.frontendFlowID = frontendFlowID
        }
    }

    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public var address: IPAddress
        public var port: UInt16
        public init(address: IPAddress, port: UInt16) {
            self.address = address
            self.port = port
        }
        public var description: String { address.family == .inet6 ? "[\(address)]:\(port)" : "\(address):\(port)" }
    }

    private struct SourceKey: Hashable {
        var protocolNumber: IPProtocolNumber
        var source: Endpoint
    }

    private struct Pending {
        var other: Endpoint
        var flowID: UInt32?
        var time: ContinuousClock.Instant
    }

    public let window: Duration
    public let capacity: Int
    /// Outbound flows to non-local destinations, by source.
    private var outbound: [SourceKey: Pending] = [:]
    /// Flows between two local endpoints, by source: matched if the outbound flow's event
    /// arrives second (events of one burst can be read out of order across CPUs).
    private var inbound: [SourceKey: Pending] = [:]
    /// Insertion order for eviction; stale entries are skipped lazily.
    private var order: [(key: SourceKey, outboundSide: Bool, time: ContinuousClock.Instant)] = []
    private var orderStart = 0
    /// Entries dropped before their window ended because `capacity` was reached (a flood).
    public private(set) var evictedForCapacity = 0

    public init(window: Duration = .seconds(2), capacity: Int = 65_536) {
        self.window = window
        self.capacity = max(1, capacity)
    }

    public var trackedCount: Int { outbound.count + inbound.count }

    /// Feeds one NEW flow. Returns the hairpin it completes, if any.
    ///
    /// A flow whose destination was rewritten on this node (a Service VIP or NodePort DNAT'd
    /// here: its reply comes from another address or port) is neither leg of a hairpin: the
    /// balancer of a hairpin rewrites the destination before the packet reaches the node.
    public mutating func observeNew(_ flow: ConntrackFlow, at now: ContinuousClock.Instant, isLocal: (IPAddress) -> Bool) -> Match? {
        let tuple = flow.original
        guard let sourcePort = tuple.sourcePort, let destinationPort = tuple.destinationPort, isLocal(tuple.source) else { return nil }
        guard flow.reply.source == tuple.destination, flow.reply.sourcePort == destinationPort else { return nil }
        let key = SourceKey(protocolNumber: tuple.protocolNumber, source: Endpoint(address: tuple.source, port: sourcePort))
        let destination = Endpoint(address: tuple.destination, port: destinationPort)
        if isLocal(tuple.destination) {
            guard tuple.destination != tuple.source || destinationPort != sourcePort else { return nil }
            if let out = removeOutbound(key), now - out.time <= window {
                return Match(
                    frontend: out.other, source: key.source, localTarget: destination, protocolNumber: key.protocolNumber,
                    hairpinFlowID: flow.id, time: now, frontendFlowID: out.flowID)
            }
            remember(key, Pending(other: destination, flowID: flow.id, time: now), outboundSide: false)
        } else {
            if let back = inbound.removeValue(forKey: key), now - back.time <= window {
                return Match(
                    frontend: destination, source: key.source, localTarget: back.other, protocolNumber: key.protocolNumber,
                    hairpinFlowID: back.flowID, time: now, frontendFlowID: flow.id)
            }
            remember(key, Pending(other: destination, flowID: flow.id, time: now), outboundSide: true)
        }
        return nil
    }

    /// An outbound flow was answered: it is a connection that works, and a later flow from the
    /// same (reused) source port must not be matched with it. Found by its original tuple (what
    /// the correlator is keyed by) and confirmed by its conntrack id, so no second index by id
    /// costs every flood event two more hash operations.
    public mutating func forgetOutbound(_ flow: ConntrackFlow) {
        let tuple = flow.original
        guard let id = flow.id, let port = tuple.sourcePort else { return }
        let key = SourceKey(protocolNumber: tuple.protocolNumber, source: Endpoint(address: tuple.source, port: port))
        guard let index = outbound.index(forKey: key), outbound.values[index].flowID == id else { return }
        outbound.remove(at: index)
    }

    private mutating func removeOutbound(_ key: SourceKey) -> Pending? {
        outbound.removeValue(forKey: key)
    }

    private mutating func remember(_ key: SourceKey, _ pending: Pending, outboundSide: Bool) {
        if outboundSide {
            outbound[key] = pending
        } else {
            inbound[key] = pending
        }
        order.append((key, outboundSide, pending.time))
        expire(before: pending.time - window)
        while outbound.count + inbound.count > capacity {
            if evictOldest() { evictedForCapacity += 1 }
        }
        compactOrder()
    }

    /// Forgets everything older than `cutoff`.
    public mutating func expire(before cutoff: ContinuousClock.Instant) {
        while orderStart < order.count, order[orderStart].time < cutoff { evictOldest() }
    }

    /// Drops the oldest remembered flow; returns whether an index entry went with it.
    @discardableResult
    private mutating func evictOldest() -> Bool {
        guard orderStart < order.count else { return false }
        let entry = order[orderStart]
        orderStart += 1
        // Only remove it if the index still holds this very entry (not a newer one of the key).
        if entry.outboundSide {
            guard let index = outbound.index(forKey: entry.key), outbound.values[index].time == entry.time else { return false }
            outbound.remove(at: index)
        } else {
            guard let index = inbound.index(forKey: entry.key), inbound.values[index].time == entry.time else { return false }
            inbound.remove(at: index)
        }
        return true
    }

    private mutating func compactOrder() {
        if orderStart > 4096, orderStart * 2 > order.count {
            order.removeFirst(orderStart)
            orderStart = 0
        }
    }
}
