import Foundation
import Netlink
import NetlinkIO

/// Reads the kernel's conntrack statistics over netlink just before a scrape.
///
/// Over netlink, not /proc/net/stat/nf_conntrack: that file is missing on kernels built without
/// CONFIG_NF_CONNTRACK_PROCFS. The dump blocks, so it runs on its own serial queue.
public final class ConntrackStatisticsCollector: @unchecked Sendable {
    private let queue = DispatchQueue(label: "pathwatch.conntrack-statistics")
    private var client: ConntrackClient?

    public init() {}

    public func read() async -> Result<ConntrackStatistics, NetlinkError> {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.readNow()) }
        }
    }

    private func readNow() -> Result<ConntrackStatistics, NetlinkError> {
        do {
            if client == nil { client = try ConntrackClient() }
            return .success(try client!.readStatistics())
        } catch {
            client = nil
            return .failure(error)
        }
    }
}

extension ConntrackCPUStatistics {
    /// Name, help text and value of each per-CPU counter, summed over CPUs by the caller.
    var exported: [(name: String, help: String, value: UInt64)] {
        [
            ("found", "Conntrack lookups that found an entry (CTA_STATS_FOUND), all CPUs.", found),
            ("invalid", "Packets conntrack could not track (CTA_STATS_INVALID), all CPUs.", invalid),
            ("insert", "Entries inserted (CTA_STATS_INSERT), all CPUs.", insert),
            (
                "insert_failed", "Entries that could not be inserted, e.g. clashing tuples (CTA_STATS_INSERT_FAILED), all CPUs.",
                insertFailed
            ),
            ("drop", "Packets dropped because an entry could not be created (CTA_STATS_DROP), all CPUs.", drop),
            ("early_drop", "Entries evicted early because the table was full (CTA_STATS_EARLY_DROP), all CPUs.", earlyDrop),
            ("error", "ICMP errors conntrack could not match (CTA_STATS_ERROR), all CPUs.", error),
            ("search_restart", "Lookups restarted because a hash resize raced them (CTA_STATS_SEARCH_RESTART), all CPUs.", searchRestart),
            ("clash_resolve", "Insert clashes resolved (CTA_STATS_CLASH_RESOLVE), all CPUs.", clashResolve),
            ("chain_toolong", "Inserts refused because a hash chain was too long (CTA_STATS_CHAIN_TOOLONG), all CPUs.", chainTooLong),
        ]
    }
}
