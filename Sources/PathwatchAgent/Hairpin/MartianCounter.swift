import FoundationEssentials
import PathwatchCore

/// The fallback signal for dropped self-sourced SYNs: the kernel's `in_martian_src` counter in
/// `/proc/net/stat/rt_cache` (all CPUs summed). Kernel-wide, and it cannot name a frontend;
/// what the agent makes of it is ``SelfSourcedSynController``'s business.
struct MartianCounterFile: MartianCounterSource {
    let path: String

    init(path: String = "/proc/net/stat/rt_cache") { self.path = path }

    func read() throws -> UInt64 {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try RouteCacheStatistics.parse(text)["in_martian_src"] ?? 0
    }
}

/// `TcpExtIPReversePathFilter` from `/proc/net/netstat`: IPv4 packets `rp_filter` dropped in the
/// agent's network namespace (the file is per namespace, unlike `rt_cache`).
struct ReversePathCounterFile: MartianCounterSource {
    let path: String

    init(path: String = "/proc/net/netstat") { self.path = path }

    func read() throws -> UInt64 {
        guard let value = ReversePathFallback.counter(netstat: try String(contentsOfFile: path, encoding: .utf8)) else {
            throw CounterUnavailable()
        }
        return value
    }
}
