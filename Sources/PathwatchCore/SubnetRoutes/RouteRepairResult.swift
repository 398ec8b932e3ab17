/// What became of a corrective route change, for `pathwatch_route_repairs_total{result}`.
public enum RouteRepairResult: String, Sendable, CaseIterable {
    /// Installed and verified by a fresh lookup.
    case success
    /// The kernel refused the change.
    case failed
    /// Installed, but the lookup still picked another path; what no verified destination needs
    /// was taken back.
    case verifyFailed = "verify_failed"
    /// Dry-run: logged and exported, not made.
    case dryRun = "dry_run"
    /// Not attempted: a route pathwatch does not own sits on the prefix in pathwatch's own
    /// policy table (`repair.strategy: policy-routing`).
    case conflict
    /// Not attempted: `repair.strategy: main-table` would have to replace a main-table route
    /// pathwatch does not own, which it never does (the finding's `remediation.blockedBy`).
    case blocked
    /// Not attempted: the repair keeps being removed (see pathwatch_route_repairs_removed_total).
    case flapping
    /// A route or rule of pathwatch's that no expectation needs any more was removed.
    case cleanedUp = "cleaned_up"
}
