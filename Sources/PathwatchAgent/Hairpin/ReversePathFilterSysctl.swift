import FoundationEssentials
import PathwatchCore

/// IPv4 `rp_filter` of an interface in the agent's network namespace, as the kernel applies it
/// (the larger of `all` and the interface's own), for a hairpin's evidence.
enum ReversePathFilterSysctl {
    static func read(_ interface: String) -> Int? {
        guard !interface.contains("/"), interface != "." && interface != ".." else { return nil }
        func value(_ name: String) -> Int? {
            (try? String(contentsOfFile: "/proc/sys/net/ipv4/conf/\(name)/rp_filter", encoding: .utf8))
                .flatMap { Int($0.trimmingWhitespace()) }
        }
        return ReversePathVerdict.effective(all: value("all"), interface: value(interface))
    }
}
