/// One CPU's conntrack counters (`IPCTNL_MSG_CT_GET_STATS_CPU`, `enum ctattr_stats_cpu`), or
/// their sum. The kernel keeps them as 32-bit values per CPU; sums are 64-bit.
public struct ConntrackCPUStatistics: Hashable, Sendable {
    /// The CPU (`nfgenmsg.res_id`); nil for ``ConntrackStatistics/total``.
    public var cpu: Int?
    /// `CTA_STATS_FOUND`: lookups that found an entry.
    public var found: UInt64 = 0
    /// `CTA_STATS_INVALID`: packets conntrack could not track.
    public var invalid: UInt64 = 0
    /// `CTA_STATS_INSERT`: entries inserted (only by ctnetlink and expectations nowadays).
    public var insert: UInt64 = 0
    /// `CTA_STATS_INSERT_FAILED`: confirmations that lost a race (the NAT/UDP "clash" symptom).
    public var insertFailed: UInt64 = 0
    /// `CTA_STATS_DROP`: packets dropped because an entry could not be created.
    public var drop: UInt64 = 0
    /// `CTA_STATS_EARLY_DROP`: entries evicted because the table was full.
    public var earlyDrop: UInt64 = 0
    /// `CTA_STATS_ERROR`: ICMP errors that matched no entry, and other errors.
    public var error: UInt64 = 0
    /// `CTA_STATS_SEARCH_RESTART`: lookups restarted by a concurrent table resize.
    public var searchRestart: UInt64 = 0
    /// `CTA_STATS_CLASH_RESOLVE`: insert clashes resolved instead of dropped.
    public var clashResolve: UInt64 = 0
    /// `CTA_STATS_CHAIN_TOOLONG`: hash chains found too long (a sign of hash flooding).
    public var chainTooLong: UInt64 = 0

    public init(cpu: Int? = nil) { self.cpu = cpu }

    /// Decodes one `IPCTNL_MSG_CT_GET_STATS_CPU` reply: the CPU in `res_id`, then u32 counters
    /// in network byte order. Retired attributes (`CTA_STATS_SEARCHED`, `_NEW`, ...) are skipped.
    public init(_ message: NetlinkMessage) throws(DecodeError) {
        let c = "IPCTNL_MSG_CT_GET_STATS_CPU"
        guard message.header.type == ConntrackMessageType.getStatisticsCPU else {
            throw DecodeError(c, "message type 0x\(String(message.header.type, radix: 16))", offset: message.whole.baseOffset + 4)
        }
        let p = message.payload
        let header = try NetfilterGenericHeader(p, c)
        self.init(cpu: Int(header.resourceID))
        var s = self
        try p.slice(NetfilterGenericHeader.size, p.count - NetfilterGenericHeader.size, c).forEachAttribute(c) { a throws(DecodeError) in
            switch a.type {
            case 2: s.found = UInt64(try a.u32Network("CTA_STATS_FOUND"))
            case 4: s.invalid = UInt64(try a.u32Network("CTA_STATS_INVALID"))
            case 8: s.insert = UInt64(try a.u32Network("CTA_STATS_INSERT"))
            case 9: s.insertFailed = UInt64(try a.u32Network("CTA_STATS_INSERT_FAILED"))
            case 10: s.drop = UInt64(try a.u32Network("CTA_STATS_DROP"))
            case 11: s.earlyDrop = UInt64(try a.u32Network("CTA_STATS_EARLY_DROP"))
            case 12: s.error = UInt64(try a.u32Network("CTA_STATS_ERROR"))
            case 13: s.searchRestart = UInt64(try a.u32Network("CTA_STATS_SEARCH_RESTART"))
            case 14: s.clashResolve = UInt64(try a.u32Network("CTA_STATS_CLASH_RESOLVE"))
            case 15: s.chainTooLong = UInt64(try a.u32Network("CTA_STATS_CHAIN_TOOLONG"))
            default: break
            }
        }
        self = s
    }

    /// Field-wise sum; the result has no CPU. Wraps rather than traps (a sum of u32 values
    /// cannot reach 2^64 in practice).
    public static func + (lhs: Self, rhs: Self) -> Self {
        var sum = ConntrackCPUStatistics()
        sum.found = lhs.found &+ rhs.found
        sum.invalid = lhs.invalid &+ rhs.invalid
        sum.insert = lhs.insert &+ rhs.insert
        sum.insertFailed = lhs.insertFailed &+ rhs.insertFailed
        sum.drop = lhs.drop &+ rhs.drop
        sum.earlyDrop = lhs.earlyDrop &+ rhs.earlyDrop
        sum.error = lhs.error &+ rhs.error
        sum.searchRestart = lhs.searchRestart &+ rhs.searchRestart
        sum.clashResolve = lhs.clashResolve &+ rhs.clashResolve
        sum.chainTooLong = lhs.chainTooLong &+ rhs.chainTooLong
        return sum
    }
}

/// Table-wide figures (`IPCTNL_MSG_CT_GET_STATS`, `enum ctattr_stats_global`).
public struct ConntrackGlobalStatistics: Hashable, Sendable {
    /// `CTA_STATS_GLOBAL_ENTRIES`: entries in this namespace's table now.
    public var entries: UInt32
    /// `CTA_STATS_GLOBAL_MAX_ENTRIES`: `net.netfilter.nf_conntrack_max`.
    public var maxEntries: UInt32

    public init(entries: UInt32, maxEntries: UInt32) {
        self.entries = entries
        self.maxEntries = maxEntries
    }

    public init(_ message: NetlinkMessage) throws(DecodeError) {
        let c = "IPCTNL_MSG_CT_GET_STATS"
        guard message.header.type == ConntrackMessageType.getStatistics else {
            throw DecodeError(c, "message type 0x\(String(message.header.type, radix: 16))", offset: message.whole.baseOffset + 4)
        }
        let p = message.payload
        _ = try NetfilterGenericHeader(p, c)
        var entries: UInt32?
        var maxEntries: UInt32?
        try p.slice(NetfilterGenericHeader.size, p.count - NetfilterGenericHeader.size, c).forEachAttribute(c) { a throws(DecodeError) in
            switch a.type {
            case 1: entries = try a.u32Network("CTA_STATS_GLOBAL_ENTRIES")
            case 2: maxEntries = try a.u32Network("CTA_STATS_GLOBAL_MAX_ENTRIES")
            default: break
            }
        }
        guard let entries, let maxEntries else {
            throw DecodeError(c, "needs CTA_STATS_GLOBAL_ENTRIES and _MAX_ENTRIES", offset: p.baseOffset)
        }
        self.init(entries: entries, maxEntries: maxEntries)
    }
}

/// Conntrack statistics of one network namespace: what `conntrack -S` and the retired
/// `/proc/net/stat/nf_conntrack` show.
public struct ConntrackStatistics: Hashable, Sendable {
    /// One entry per possible CPU, in CPU order.
    public var perCPU: [ConntrackCPUStatistics]
    public var global: ConntrackGlobalStatistics?

    public init(perCPU: [ConntrackCPUStatistics], global: ConntrackGlobalStatistics? = nil) {
        self.perCPU = perCPU
        self.global = global
    }

    /// The per-CPU counters summed.
    public var total: ConntrackCPUStatistics { perCPU.reduce(ConntrackCPUStatistics(), +) }
}
