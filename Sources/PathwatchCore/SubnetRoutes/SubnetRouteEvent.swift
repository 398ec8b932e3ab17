import Netlink

/// What one evaluation did and found, for the agent to log, report and count. Typed, so a
/// caller switches over outcomes instead of parsing strings.
public enum SubnetRouteEvent: Sendable, Equatable {
    /// A `missing_subnet_route` finding to open (`opened`) or update.
    case finding(MissingSubnetRouteReport, opened: Bool)
    /// The expectation holds again (or no longer exists): its finding closes.
    case cleared(SubnetRouteExpectation.ID, stillExpected: Bool)
    /// A fix pathwatch had installed and verified is gone; `removals` so far.
    case removedByOthers(SubnetRouteExpectation, removals: Int)
    /// Dry-run: the changes pathwatch would make (once per distinct fix).
    case wouldChange(SubnetRouteExpectation, [RouteChange])
    /// A foreign route is in the way (once per episode).
    case conflict(SubnetRouteExpectation, Conflict)
    /// The repair keeps being removed; pathwatch stopped re-installing it (once per episode).
    case flapping(SubnetRouteExpectation, installs: Int, likelyCause: String)
    case changed(RouteChange, for: SubnetRouteExpectation)
    /// Logged once when the refusal starts or changes; retries after a backoff stay quiet.
    case refused(RouteChange, RouteChangeRefusal, for: SubnetRouteExpectation, retryIn: Duration)
    case verified(SubnetRouteExpectation)
    /// `observed`: what the fresh lookup answered instead.
    case verifyFailed(SubnetRouteExpectation, observed: String, retryIn: Duration)
    /// Taken back after a failed verification: only what no holding expectation needs.
    case rolledBack(RouteChange)
    case cleanedUp(RouteChange)
    case cleanupRefused(RouteChange, RouteChangeRefusal)
    /// Clean-up of earlier runs' objects waits until every expectation source has answered.
    case cleanupDeferred(count: Int)
    /// A gateway in use does not answer address resolution (`opened` the first time).
    case gatewayUnanswered(SubnetGatewayReport, opened: Bool)
    /// It answers again, or nothing routes through it any more: its finding closes.
    case gatewayAnswers(SubnetGatewayID)
    /// Auto-fix left `on` while the evaluation was making changes: it stopped there.
    case stoppedByModeChange(AutofixMode)
}

/// The counts and gauges of the slice, as the collector reads them at scrape time.
public struct SubnetRouteStatistics: Sendable, Equatable {
    public var repairs: [RouteRepairResult: Int] = [:]
    public var removedByOthers = 0
    /// Per expectation: true while missing, false while it holds.
    public var missing: [MissingRouteLabels: Bool] = [:]

    public init() {}
}

/// The labels of `pathwatch_missing_subnet_route`.
public struct MissingRouteLabels: Hashable, Sendable {
    public var interface: String
    public var destination: String
    public var gateway: String

    public init(interface: String, destination: String, gateway: String) {
        self.interface = interface
        self.destination = destination
        self.gateway = gateway
    }

    public init(_ e: SubnetRouteExpectation) {
        self.init(interface: e.interface, destination: "\(e.destination)", gateway: "\(e.gateway)")
    }
}
