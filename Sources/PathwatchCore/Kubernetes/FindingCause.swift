/// The cause a finding is about, as the bounded labels operators group a fleet by:
/// `frontend` (hairpin, self-sourced SYN drop), `destination` (missing subnet route) and `path`
/// (path degradation). Labels that do not apply to a kind are empty (absent in PromQL).
public struct FindingCause: Sendable, Hashable {
    public var kind: FindingKind
    public var frontend = ""
    public var destination = ""
    public var path = ""

    public init(kind: FindingKind, frontend: String = "", destination: String = "", path: String = "") {
        self.kind = kind
        self.frontend = frontend
        self.destination = destination
        self.path = path
    }

    /// Destinations found in live traffic (single hosts, unbounded) share this label.
    public static let liveTraffic = "live-traffic"

    /// From a finding's key, whose form each detector documents: the frontend (`ADDR:PORT`,
    /// `unknown`, or the martian counter's key) for hairpin and self-sourced SYN drops;
    /// `INTERFACE DESTINATION` or `live INTERFACE HOST` for missing subnet routes; the path
    /// class for path findings. `frontends` bounds frontend labels the way
    /// `pathwatch_hairpin_flows_total` does (`hairpin.maxFrontendLabels`, then `other`).
    public static func of(kind: FindingKind, key: String, frontends: inout BoundedLabels) -> FindingCause {
        switch kind {
        case .hairpin, .selfSourcedSynDrop:
            return FindingCause(kind: kind, frontend: frontends.label(for: key))
        case .missingSubnetRoute:
            let parts = key.split(separator: " ")
            // `gateway INTERFACE ADDRESS`: the subnet gateway itself does not answer.
            if parts.first == "gateway", parts.count == 3 { return FindingCause(kind: kind, destination: "gateway \(parts[2])") }
            if parts.first == "live" || parts.count != 2 { return FindingCause(kind: kind, destination: liveTraffic) }
            return FindingCause(kind: kind, destination: String(parts[1]))
        case .publicPathDegraded, .pathDegraded:
            return FindingCause(kind: kind, path: key)
        case .peerPathDegraded:
            // Keyed by the peer's prefix (unbounded): the cause label is the class only.
            return FindingCause(kind: kind, path: "peer")
        }
    }
}
