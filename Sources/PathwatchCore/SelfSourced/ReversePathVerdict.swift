import Netlink

/// How a SYN from a node-local endpoint that arrived from outside dies on this node, as far as
/// the agent can know it: IPv4's `rp_filter` on the input interface decides in routing (the
/// kernel applies the larger of `all` and the interface's value); IPv6 has no such sysctl, and
/// only a raw-table `rpfilter` rule (firewalld) drops it. Where nothing drops it, the local target
/// answers the client directly, and the client resets a connection it never asked for.
public enum ReversePathVerdict {
    /// The finding's `origin`: where the SYN arrived and what happens to it.
    /// - Parameters:
    ///   - rpFilter: the effective `rp_filter` of `interface` (IPv4), nil when unknown.
    ///   - unconfirmedAfter: set when the packet was held and conntrack had still not
    ///     confirmed its flow this long after it (``ReversePathConfirmations``): it died on
    ///     this node before conntrack, which is what the origin then says.
    public static func origin(
        family: AddressFamily, interface: String?, rpFilter: Int?, udp: Bool = false, unconfirmedAfter: Duration? = nil
    ) -> String {
        let at = interface ?? "?"
        let what = udp ? "a UDP datagram" : "a SYN"
        let head = "probe: \(what) from this node-local endpoint arrived from outside on \(at) and fails the strict reverse-path check"
        if let wait = unconfirmedAfter {
            let routing =
                switch (family, rpFilter) {
                case (.inet, 1?): "rp_filter=1 on \(at)"
                case (.inet, let mode?): "rp_filter=\(mode) on \(at) lets it through routing"
                case (.inet, nil): "rp_filter of \(at) unreadable"
                default: "IPv6 has no rp_filter"
                }
            return head
                + " (\(routing); conntrack had not confirmed its flow \(milliseconds(wait)) ms later: it died on this node before conntrack, in a raw-table rpfilter rule such as firewalld's or a firewall drop)"
        }
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

    /// Whether the kernel drops the packet for certain before conntrack (IPv4 `rp_filter=1`, in
    /// routing): then the packet alone is the evidence. Every other packet is held until
    /// conntrack says whether its flow was confirmed (``ReversePathConfirmations``).
    public static func dropsForCertain(family: AddressFamily, rpFilter: Int?) -> Bool {
        family == .inet && rpFilter == 1
    }

    private static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
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
