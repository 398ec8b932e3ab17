/// The namespace's TCP segment totals (`Tcp: InSegs OutSegs` of `/proc/net/snmp`): while
/// neither moves, no TCP socket of the namespace sent or received anything, so none of the
/// counters a sample reads (bytes, retransmits, congestion window, out-of-order packets) changed
/// and no connection opened or closed.
public struct TCPSegmentTotals: Sendable, Equatable {
    public var received: Int64
    public var sent: Int64

    public init(received: Int64, sent: Int64) {
        self.received = received
        self.sent = sent
    }

    /// nil when the text lacks either counter (then every sample walks).
    public init?(snmp: String) {
        guard let tcp = ProcNetTable.parse(snmp, keeping: ["Tcp": ["InSegs", "OutSegs"]])["Tcp"], let received = tcp["InSegs"],
            let sent = tcp["OutSegs"]
        else { return nil }
        self.init(received: received, sent: sent)
    }
}

/// The last socket walk, kept so that a sample of a namespace whose TCP has been silent since
/// (same ``TCPSegmentTotals``) replays it instead of walking the kernel's TCP hash again: the
/// walk visits every bucket of the host-wide table whatever the namespace holds, and was most
/// of an idle agent's CPU. The replay gives the path engine exactly what a walk would (every
/// delta zero), so no verdict changes.
///
/// Kept only for small namespaces (``limit`` sockets): a busy node's TCP is never silent for a
/// sample interval, and holding its socket list would cost memory for nothing.
public struct QuietSocketSample<Record>: Sendable where Record: Sendable {
    public let limit: Int
    private var totals: TCPSegmentTotals?
    private var records: [Record] = []
    private var collecting: [Record] = []
    private var overLimit = false

    public init(limit: Int = 1024) { self.limit = max(0, limit) }

    /// The sockets to replay when the totals have not moved since the last complete walk.
    public func replay(at totals: TCPSegmentTotals?) -> [Record]? {
        guard let totals, totals == self.totals else { return nil }
        return records
    }

    /// Starts a walk; forgets the last one.
    public mutating func beginWalk() {
        totals = nil
        records = []
        collecting = []
        overLimit = false
    }

    /// One socket of the walk under way.
    public mutating func walked(_ record: Record) {
        guard !overLimit else { return }
        guard collecting.count < limit else {
            overLimit = true
            collecting = []
            return
        }
        collecting.append(record)
    }

    /// The walk completed with the totals read just before it: keeps it for replay if it was
    /// small. A walk that failed never calls this, so nothing half-walked is replayed.
    public mutating func completeWalk(totals: TCPSegmentTotals?) {
        guard !overLimit, let totals else { return }
        self.totals = totals
        records = collecting
        collecting = []
    }
}
