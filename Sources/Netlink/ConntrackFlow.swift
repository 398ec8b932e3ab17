/// Packet and byte counters of one direction (`CTA_COUNTERS_ORIG` / `CTA_COUNTERS_REPLY`).
/// Present only when `net.netfilter.nf_conntrack_acct` is on; the kernel sends them in destroy
/// events and dumps.
public struct ConntrackCounters: Hashable, Sendable {
    public var packets: UInt64
    public var bytes: UInt64

    public init(packets: UInt64, bytes: UInt64) {
        self.packets = packets
        self.bytes = bytes
    }
}

/// Start and stop times of a flow (`CTA_TIMESTAMP`), in nanoseconds of `CLOCK_REALTIME`.
/// Present only when `net.netfilter.nf_conntrack_timestamp` was on when the flow began.
public struct ConntrackTimestamps: Hashable, Sendable {
    /// `CTA_TIMESTAMP_START`.
    public var start: UInt64
    /// `CTA_TIMESTAMP_STOP`: set once the flow has ended (destroy events).
    public var stop: UInt64?

    public init(start: UInt64, stop: UInt64? = nil) {
        self.start = start
        self.stop = stop
    }
}

/// A conntrack entry as a ctnetlink message (`IPCTNL_MSG_CT_NEW` / `_DELETE`) describes it.
public struct ConntrackFlow: Hashable, Sendable {
    /// `nfgen_family`: `.inet` or `.inet6`.
    public var family: AddressFamily
    /// `CTA_ID`: the kernel's identifier for the entry, stable for its lifetime.
    public var id: UInt32?
    /// `CTA_TUPLE_ORIG`: the direction of the first packet.
    public var original: FlowTuple
    /// `CTA_TUPLE_REPLY`: what replies look like; differs from `original` reversed under NAT.
    public var reply: FlowTuple
    /// `CTA_STATUS`; empty when the message has none.
    public var status: ConntrackStatus
    /// `CTA_PROTOINFO_TCP_STATE`, for TCP flows.
    public var tcpState: TCPConntrackState?
    /// `CTA_MARK`: the kernel omits it in events when it is zero.
    public var mark: UInt32?
    /// `CTA_ZONE`: omitted for the default zone 0.
    public var zone: UInt16?
    /// `CTA_TIMEOUT`: seconds until the entry expires without traffic.
    public var timeout: UInt32?
    /// `CTA_TIMESTAMP`.
    public var timestamps: ConntrackTimestamps?
    /// `CTA_TIMESTAMP_EVENT` (Linux 6.14+): when the kernel queued this event, in nanoseconds of
    /// `CLOCK_REALTIME`; sent when `nf_conntrack_timestamp` is on. Not in older uapi headers.
    public var eventTimestamp: UInt64?
    /// `CTA_COUNTERS_ORIG`.
    public var originalCounters: ConntrackCounters?
    /// `CTA_COUNTERS_REPLY`.
    public var replyCounters: ConntrackCounters?

    public init(
        family: AddressFamily, id: UInt32? = nil, original: FlowTuple, reply: FlowTuple,
        status: ConntrackStatus = [], tcpState: TCPConntrackState? = nil, mark: UInt32? = nil,
        zone: UInt16? = nil, timeout: UInt32? = nil, timestamps: ConntrackTimestamps? = nil,
        eventTimestamp: UInt64? = nil, originalCounters: ConntrackCounters? = nil, replyCounters: ConntrackCounters? = nil
    ) {
        self.family = family
        self.id = id
        self.original = original
        self.reply = reply
        self.status = status
        self.tcpState = tcpState
        self.mark = mark
        self.zone = zone
        self.timeout = timeout
        self.timestamps = timestamps
        self.eventTimestamp = eventTimestamp
        self.originalCounters = originalCounters
        self.replyCounters = replyCounters
    }

    /// Decodes a ctnetlink flow message (`IPCTNL_MSG_CT_NEW` or `IPCTNL_MSG_CT_DELETE`).
    public init(_ message: NetlinkMessage) throws(DecodeError) {
        let type = message.header.type
        guard type == ConntrackMessageType.new || type == ConntrackMessageType.delete else {
            throw DecodeError("ctnetlink", "message type 0x\(String(type, radix: 16)) is not a flow", offset: message.whole.baseOffset + 4)
        }
        try self.init(payload: message.payload)
    }

    /// Decodes the payload of a flow message: `struct nfgenmsg`, then `CTA_*` attributes, every
    /// multi-byte value in network byte order. Unknown attributes are skipped.
    public init(payload p: ByteReader) throws(DecodeError) {
        let c = "IPCTNL_MSG_CT"
        let header = try NetfilterGenericHeader(p, c)
        guard header.family == .inet || header.family == .inet6 else {
            throw DecodeError(c, "nfgen_family \(header.family.rawValue) is not IPv4 or IPv6", offset: p.baseOffset)
        }
        var original: FlowTuple?
        var reply: FlowTuple?
        var id: UInt32?
        var status: ConntrackStatus = []
        var tcpState: TCPConntrackState?
        var mark: UInt32?
        var zone: UInt16?
        var timeout: UInt32?
        var timestamps: ConntrackTimestamps?
        var eventTimestamp: UInt64?
        var originalCounters: ConntrackCounters?
        var replyCounters: ConntrackCounters?
        let attributes = try p.slice(NetfilterGenericHeader.size, p.count - NetfilterGenericHeader.size, c)
        try attributes.forEachAttribute(c) { a throws(DecodeError) in
            switch a.type {
            case 1: original = try FlowTuple(a.payload, "CTA_TUPLE_ORIG")
            case 2: reply = try FlowTuple(a.payload, "CTA_TUPLE_REPLY")
            case 3: status = ConntrackStatus(rawValue: try a.u32Network("CTA_STATUS"))
            case 4: tcpState = try ConntrackFlow.decodeTCPState(a.payload)
            case 7: timeout = try a.u32Network("CTA_TIMEOUT")
            case 8: mark = try a.u32Network("CTA_MARK")
            case 9: originalCounters = try ConntrackFlow.decodeCounters(a.payload, "CTA_COUNTERS_ORIG")
            case 10: replyCounters = try ConntrackFlow.decodeCounters(a.payload, "CTA_COUNTERS_REPLY")
            case 12: id = try a.u32Network("CTA_ID")
            case 18: zone = try a.u16Network("CTA_ZONE")
            case 20: timestamps = try ConntrackFlow.decodeTimestamps(a.payload)
            case 27: eventTimestamp = try a.u64Network("CTA_TIMESTAMP_EVENT")
            default: break
            }
        }
        guard let original else { throw DecodeError(c, "CTA_TUPLE_ORIG missing", offset: p.baseOffset) }
        guard let reply else { throw DecodeError(c, "CTA_TUPLE_REPLY missing", offset: p.baseOffset) }
        guard original.source.family == header.family, reply.source.family == header.family else {
            throw DecodeError(c, "tuple addresses are not of nfgen_family \(header.family)", offset: p.baseOffset)
        }
        self.init(
            family: header.family, id: id, original: original, reply: reply, status: status,
            tcpState: tcpState, mark: mark, zone: zone, timeout: timeout, timestamps: timestamps,
            eventTimestamp: eventTimestamp, originalCounters: originalCounters, replyCounters: replyCounters
        )
    }

    /// `CTA_PROTOINFO` → `CTA_PROTOINFO_TCP` → `CTA_PROTOINFO_TCP_STATE`; nil for other protocols.
    static func decodeTCPState(_ r: ByteReader) throws(DecodeError) -> TCPConntrackState? {
        var state: TCPConntrackState?
        try r.forEachAttribute("CTA_PROTOINFO") { info throws(DecodeError) in
            guard info.type == 1 else { return }  // CTA_PROTOINFO_TCP
            try info.payload.forEachAttribute("CTA_PROTOINFO_TCP") { tcp throws(DecodeError) in
                if tcp.type == 1 { state = TCPConntrackState(rawValue: try tcp.u8("CTA_PROTOINFO_TCP_STATE")) }
            }
        }
        return state
    }

    static func decodeCounters(_ r: ByteReader, _ context: String) throws(DecodeError) -> ConntrackCounters {
        var packets: UInt64?
        var bytes: UInt64?
        try r.forEachAttribute(context) { a throws(DecodeError) in
            switch a.type {
            case 1: packets = try a.u64Network("\(context) CTA_COUNTERS_PACKETS")
            case 2: bytes = try a.u64Network("\(context) CTA_COUNTERS_BYTES")
            case 3: packets = UInt64(try a.u32Network("\(context) CTA_COUNTERS32_PACKETS"))
            case 4: bytes = UInt64(try a.u32Network("\(context) CTA_COUNTERS32_BYTES"))
            default: break
            }
        }
        guard let packets, let bytes else {
            throw DecodeError(context, "needs both packets and bytes", offset: r.baseOffset)
        }
        return ConntrackCounters(packets: packets, bytes: bytes)
    }

    static func decodeTimestamps(_ r: ByteReader) throws(DecodeError) -> ConntrackTimestamps {
        var start: UInt64?
        var stop: UInt64?
        try r.forEachAttribute("CTA_TIMESTAMP") { a throws(DecodeError) in
            switch a.type {
            case 1: start = try a.u64Network("CTA_TIMESTAMP_START")
            case 2: stop = try a.u64Network("CTA_TIMESTAMP_STOP")
            default: break
            }
        }
        guard let start else { throw DecodeError("CTA_TIMESTAMP", "CTA_TIMESTAMP_START missing", offset: r.baseOffset) }
        return ConntrackTimestamps(start: start, stop: stop)
    }
}
