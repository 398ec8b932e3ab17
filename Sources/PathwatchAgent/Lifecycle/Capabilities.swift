import FoundationEssentials

/// The Linux capabilities the agent needs, checked at start so a missing one is one clear
/// sentence instead of a confusing EPERM from deep inside a watcher.
public enum Capabilities {
    /// `CAP_NET_ADMIN` (bit 12): conntrack event subscription, `SO_RCVBUFFORCE`, route changes.
    public static let netAdmin = 12

    /// The effective capability set of this process, from `/proc/self/status` (`CapEff`).
    public static func effective() -> UInt64? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            return UInt64(line.dropFirst("CapEff:".count).trimmingWhitespace(), radix: 16)
        }
        return nil
    }

    /// nil when the agent may run, otherwise the sentence to print.
    public static func missingPrivilegeMessage(conntrackEnabled: Bool) -> String? {
        guard let effective = effective() else { return nil }  // Unknown: let the kernel decide.
        if effective & (1 << UInt64(netAdmin)) == 0 {
            let reason =
                conntrackEnabled
                ? "to subscribe to conntrack events and size its netlink receive buffers" : "to size its netlink receive buffers"
            return
                "pathwatch needs the CAP_NET_ADMIN capability \(reason); run it as root or grant CAP_NET_ADMIN (systemd: AmbientCapabilities=CAP_NET_ADMIN)."
        }
        return nil
    }
}
