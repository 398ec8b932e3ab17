import Netlink

/// How a SYN from a node-local endpoint that arrived from outside dies on this node, as far as
/// the agent can know it: IPv4's `rp_filter` on the input interface decides in routing (the
/// kernel applies the larger of `all` and the interface's value); IPv6 has no such sysctl, and
/// only a raw-table `rpfilter` rule (firewalld) drops it. Where nothing drops it, the local target
/// answers the client directly, and the client resets a connection it never asked for.
public enum ReversePathVerdict {
    /// The finding's `origin`: where the SYN arrived and what happens to it.
    /// - Parameter rpFilter: the effective `rp_filter` of `interface` (IPv4), nil when unknown.
    public static func origin(family: AddressFamily, interface: String?, rpFilter: Int?, udp: Bool = false) -> String {
        let at = interface ?? "?"
        let what = udp ? "a UDP datagram" : "a SYN"
        let head = "probe: \(what) from this node-local endpoint arrived from outside on \(at) and fails the strict reverse-path check"
        guard family == .inet else {
            return head
                + " (IPv6 has no rp_filter: a raw-table rpfilter rule such as firewalld's drops it, or else the local target answers the client directly and the client resets)"
        }
        switch rpFilter {
        case 1?: return head + " (rp_filter=1 on \(at): routing drops it there)"
        case let mode?:
            return head
                + " (rp_filter=\(mode) on \(at) lets it through: a raw-table rpfilter rule drops it, or else the local target answers the client directly and the client resets)"
        case nil: return head + " (rp_filter=1 or a raw-table rpfilter rule drops it there; rp_filter of \(at) unreadable)"
        }
    }

    /// The effective mode: the kernel uses the larger of `net.ipv4.conf.all.rp_filter` and the
    /// interface's own.
    public static func effective(all: Int?, interface: Int?) -> Int? {
        switch (all, interface) {
        case (let a?, let i?): max(a, i)
        case (let a?, nil): a
        case (nil, let i?): i
        case (nil, nil): nil
        }
    }
}
