import Netlink

/// Probe packets whose fate the kernel has not told yet, held until conntrack can.
///
/// A packet from a node-local endpoint that arrives from outside dies for certain only under
/// IPv4 `rp_filter=1`, in routing. Elsewhere (IPv4 `rp_filter` 0 or 2 or unreadable, and all
/// IPv6) it may die in a raw-table `rpfilter` rule or a firewall before conntrack confirms its
/// flow, or be delivered and answered back through the balancer: a hairpin that works. A
/// moment later conntrack says which: a delivered packet's flow (the packet's own tuple as the
/// original) is in the table, a dropped one's never is. So such packets wait here for
/// ``delay`` — far below the conntrack timeouts that could make a delivered flow vanish, well
/// inside the one second the hairpin promise allows — and are then judged by ``isConfirmed``.
///
/// Bounded: a flood beyond ``capacity`` is counted in ``overflowed`` and left to the conntrack
/// correlator. A packet repeating one already held (a retransmitted SYN, a UDP flow's next
/// datagram) is not held twice. Time is the caller's monotonic instant.
public struct ReversePathConfirmations: Sendable {
    public typealias Instant = ContinuousClock.Instant
    public typealias Endpoint = HairpinCorrelator.Endpoint

    /// One held packet: the pairing it would report, and what its finding's origin needs.
    public struct Pending: Sendable, Equatable {
        public var match: HairpinCorrelator.Match
        public var family: AddressFamily
        public var interface: String?
        /// The effective IPv4 `rp_filter` of `interface`; nil for IPv6 or when unreadable.
        public var rpFilter: Int?
        public var due: Instant

        public init(match: HairpinCorrelator.Match, family: AddressFamily, interface: String?, rpFilter: Int?, due: Instant) {
            self.match = match
            self.family = family
            self.interface = interface
            self.rpFilter = rpFilter
            self.due = due
        }
    }

    /// How long a packet waits: conntrack confirms a delivered packet's flow within
    /// microseconds; the rest is margin for a loaded node, and the finding still opens within
    /// a second of the packet.
    public static let defaultDelay = Duration.milliseconds(400)

    public let delay: Duration
    public let capacity: Int
    /// Packets not held because ``capacity`` were already waiting.
    public private(set) var overflowed: UInt64 = 0
    /// Whether a packet was turned away since the set was last empty (one log line per flood).
    private var turnedAway = false
    /// In arrival order, which is due order (one delay for all).
    private var queue: [Pending] = []

    public init(delay: Duration = Self.defaultDelay, capacity: Int = 256) {
        self.delay = delay
        self.capacity = max(1, capacity)
    }

    public enum Held: Equatable, Sendable {
        case held
        /// The same flow is already waiting.
        case repeated
        /// ``capacity`` packets are waiting: this one is left to the conntrack correlator.
        /// `first`: the first turned away since the set was last empty.
        case full(first: Bool)
    }

    /// Holds `match` until `now + delay`.
    public mutating func hold(_ match: HairpinCorrelator.Match, family: AddressFamily, interface: String?, rpFilter: Int?, at now: Instant)
        -> Held
    {
        if queue.contains(where: { Self.sameFlow($0.match, match) }) { return .repeated }
        guard queue.count < capacity else {
            overflowed += 1
            defer { turnedAway = true }
            return .full(first: !turnedAway)
        }
        queue.append(Pending(match: match, family: family, interface: interface, rpFilter: rpFilter, due: now + delay))
        return .held
    }

    /// When the next packet is due; nil when nothing waits (no timer then).
    public var nextDue: Instant? { queue.first?.due }

    public var count: Int { queue.count }

    /// Removes and returns the packets due at `now`.
    public mutating func takeDue(at now: Instant) -> [Pending] {
        let due = queue.prefix { $0.due <= now }
        let taken = Array(due)
        queue.removeFirst(taken.count)
        if queue.isEmpty { turnedAway = false }
        return taken
    }

    /// Forgets every held packet (the probe is gone: nothing can judge them).
    public mutating func removeAll() {
        queue.removeAll()
        turnedAway = false
    }

    /// Whether conntrack confirmed the held packet's own flow: one whose original tuple is the
    /// packet's source to its local target, same protocol. Flows found through their reply
    /// tuple (masqueraded pods) or through the frontend do not count.
    public static func isConfirmed(_ pending: Pending, among flows: [ConntrackFlow]) -> Bool {
        let (source, target) = (pending.match.source, pending.match.localTarget)
        return flows.contains { flow in
            let o = flow.original
            return o.protocolNumber == pending.match.protocolNumber && o.source == source.address && o.sourcePort == source.port
                && o.destination == target.address && o.destinationPort == target.port
        }
    }

    private static func sameFlow(_ a: HairpinCorrelator.Match, _ b: HairpinCorrelator.Match) -> Bool {
        a.source == b.source && a.localTarget == b.localTarget && a.protocolNumber == b.protocolNumber
    }
}
