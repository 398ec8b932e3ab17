/// What to do about a path finding: the remediation text of every path finding kind, in one
/// place, so the runbook (docs/runbooks.md) and the served steps are reviewed together.
public struct PathRemediation: FindingDetail, Hashable {
    public var steps: [String]
    /// What not to try, when the obvious fix is known not to work.
    public var notDoing: String?

    /// The incident's fix: the edge path of the public address, not the instance.
    public static let publicPath = PathRemediation(
        steps: [
            "Re-associate the elastic/public IP (disassociate, then associate it again): the edge's NAT mapping for this address may be pinned to a degraded path, which a stop/start or reboot does not change.",
            "Confirm from a second external path (another ISP, a VPN, a cellular hotspot, a host in another region) that the loss follows this address and not one client's route.",
            "Compare with a private peer (jump host in the same network): clean there and lossy here means the problem is above the instance, not in it.",
        ],
        notDoing: "A stop/start, resize or migration does not remap the public address's edge path.")

    /// Both paths at once: the node itself.
    public static let node = PathRemediation(
        steps: [
            "Check the node: interface errors and drops, NIC allowance counters, CPU saturation and softirq time, qdisc drops (tc -s qdisc).",
            "Re-associating the public address will not help: the private path is degraded too.",
        ],
        notDoing: nil)

    /// The private path alone: the provider network or the private peers.
    public static let privatePath = PathRemediation(
        steps: [
            "Check the private peers named below and the provider network between them (security groups, NACLs, peering, the peers' own NICs).",
            "Re-associating the public address will not help: the public path is fine.",
        ],
        notDoing: nil)

    /// One peer: its own last mile or route; informational.
    public static let peer = PathRemediation(
        steps: [
            "Nothing to change on this node: the other peers of the same path are clean, so the loss is on this peer's side (its last mile, Wi-Fi, mobile network or ISP route).",
            "If the peer is yours (an office, a partner, a replica), check its uplink and its route towards this node.",
            "If more peers of the path turn lossy, the path finding (public_path_degraded or path_degraded) opens once they are at least paths.lossyPeerShare of the active peers.",
        ],
        notDoing: "Re-associating this node's public address does not help one peer: the path is fine for the others.")
}
