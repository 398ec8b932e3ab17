/// The remediation both hairpin kinds (`hairpin`, `self_sourced_syn_drop`) carry: one catalog
/// entry, so the advice an on-call engineer reads is the same whichever probe saw the problem.
public struct HairpinRemediation: FindingDetail, Equatable {
    public var text: String
    public var options: [String]

    /// A balancer that keeps the client address sends the node's own connection back to it.
    public static let clientAddressPreserved = HairpinRemediation(
        text:
            "The load balancer preserves the client address, so a node's connection to it can be sent back to the same node, where the answer is dropped: failures land ~5 s in (the balancer's SYN timeout), in pairs with a retry.",
        options: [
            "Disable client-IP preservation on the target group and use Proxy Protocol v2 to carry the client address (upstreams and health checks must parse it).",
            "Keep clients and targets of this frontend on different nodes (anti-affinity, separate node groups).",
            "Talk to the service directly (cluster DNS, pod to pod) instead of through the load balancer.",
        ])
}
