import Dispatch
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
            ("found", "Lookups that found an entry.", found),
            ("invalid", "Packets conntrack could not track.", invalid),
            ("insert", "Entries inserted.", insert),
            (
                "insert_failed", "Entries that could not be inserted.",
                insertFailed
            ),
            ("drop", "Packets dropped: no entry could be created.", drop),
            ("early_drop", "Entries evicted early: table full.", earlyDrop),
            ("error", "ICMP errors conntrack could not match.", error),
            ("search_restart", "Lookups restarted by a hash resize.", searchRestart),
            ("clash_resolve", "Insert clashes resolved.", clashResolve),
            ("chain_toolong", "Inserts refused: hash chain too long.", chainTooLong),
        ]
    }
}
