/// How the agent acts on route-shaped findings.
public enum AutofixMode: String, Sendable, CaseIterable, Codable {
    /// Detect and report only.
    case off
    /// Log and export the change it would make, change nothing.
    case dryRun = "dry-run"
    /// Install the corrective route, tagged with pathwatch's routing protocol.
    case on
}
