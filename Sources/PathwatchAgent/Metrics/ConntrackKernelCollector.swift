import Netlink
import Synchronization

/// The kernel's conntrack table size, limit and per-CPU statistics (summed over CPUs), as read
/// over netlink just before the scrape, written as the kernel's values: a counter the kernel
/// restarts (module reloaded) restarts here, which `rate()` reads as a counter reset.
public final class ConntrackKernelCollector: ScrapeCollector {
    private struct Reading {
        var cpu: ConntrackCPUStatistics?
        var entries: UInt32 = 0
        var maxEntries: UInt32 = 0
        var active = false
    }

    private let last = Mutex(Reading())

    init() {}

    /// A fresh reading; `kernelHasFlows` is what the event watcher saw, for kernels whose
    /// statistics lack the global entry count.
    public func record(_ statistics: ConntrackStatistics, kernelHasFlows: Bool) {
        last.withLock { reading in
            reading.cpu = statistics.total
            if let global = statistics.global {
                reading.entries = global.entries
                reading.maxEntries = global.maxEntries
            }
            reading.active = (statistics.global?.entries ?? 0) > 0 || kernelHasFlows
        }
    }

    public func collect(into page: inout PrometheusPage) {
        let reading = last.withLock { $0 }
        page.gauge(
            "pathwatch_conntrack_entries", help: "Conntrack entries in this namespace.",
            value: Double(reading.entries))
        page.gauge(
            "pathwatch_conntrack_entries_max", help: "Conntrack table size limit.",
            value: Double(reading.maxEntries))
        page.gauge(
            "pathwatch_conntrack_active",
            help:
                "1 when conntrack tracks flows in this namespace; 0: conntrack-based detection sees nothing.",
            value: reading.active ? 1 : 0)
        page.gauge(
            "pathwatch_conntrack_flows",
            help:
                "Conntrack entries in this namespace (kernel statistics).",
            value: Double(reading.entries))
        guard let cpu = reading.cpu else { return }
        for entry in cpu.exported {
            page.counter("pathwatch_conntrack_stat_\(entry.name)_total", help: entry.help, value: entry.value)
        }
    }
}
