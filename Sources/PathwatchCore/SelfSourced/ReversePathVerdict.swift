import Netlink

/// How a SYN from a node-local endpoint that arrived from outside dies on this node, as far as
/// the agent can know it: IPv4's `rp_filter=1` on the input interface drops it in routing (the
/// kernel applies the larger of `all` and the interface's value). Anything else — IPv4
/// `rp_filter` 0 or 2, IPv6, which has no such sysctl — dies only in a raw-table `rpfilter` rule
/// (firewalld) or a firewall, and the agent knows it did when conntrack never confirmed the
/// packet's flow (``ReversePathConfirmations``).
public enum ReversePathVerdict {
    /// The finding's `origin` for a packet routing drops (IPv4 `rp_filter=1`): reported at once.
    public static func routingDropOrigin(interface: String?, udp: Bool = false) -> String {
        let at = interface ?? "?"
        return head(interface: at, udp: udp) + " (rp_filter=1 on \(at): routing drops it there)"
    }

    /// The finding's `origin` for a held packet whose flow conntrack had still not confirmed
    /// `wait` after it: it died on this node before conntrack.
    /// - Parameter rpFilter: the effective `rp_filter` of `interface` (IPv4), nil when unknown.
    public static func unconfirmedOrigin(family: AddressFamily, interface: String?, rpFilter: Int?, udp: Bool = false, after wait: Duration)
        -> String
    {
        let at = interface ?? "?"
        let routing =
            switch (family, rpFilter) {
            case (.inet, let mode?): "rp_filter=\(mode) on \(at) lets it through routing"
            case (.inet, nil): "rp_filter of \(at) unreadable"
            default: "IPv6 has no rp_filter"
            }
        return head(interface: at, udp: udp)
            + " (\(routing); conntrack had not confirmed its flow \(milliseconds(wait)) ms later: it died on this node before conntrack, in a raw-table rpfilter rule such as firewalld's or a firewall drop)"
    }

    private static func head(interface at: String, udp: Bool) -> String {
        "probe: \(udp ? "a UDP datagram" : "a SYN") from this node-local endpoint arrived from outside on \(at) and fails the strict reverse-path check"
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
