/// An Event about the Node that pathwatch wants the API to hold.
public struct NodeEvent: Sendable, Equatable {
    public enum Severity: String, Sendable {
        case normal = "Normal"
        case warning = "Warning"
    }

    public var severity: Severity
    /// UpperCamelCase, e.g. `HairpinFound`, `HairpinCleared`, `RepairInstalled`.
    public var reason: String
    public var message: String
    /// The finding kind and key it is about: what rate limiting keys on.
    public var subject: String
    /// Occurrences this event stands for (1 plus those suppressed since the last one sent).
    public var count: Int
}

/// Turns successive views of the open findings into Events: Warning when a finding opens,
/// Normal when it clears, one per repair installed, failed or flapping (read from the
/// `missing_subnet_route` evidence's `repairState`).
///
/// A flapping finding cannot flood the API: the same reason for the same finding is sent at
/// most once per `perSubjectInterval` (later ones are counted into the next one sent), and all
/// events share a token bucket of `burst` refilled one per `refill`.
public struct NodeEventPlanner: Sendable {
    public struct Settings: Sendable, Equatable {
        public var perSubjectInterval: Duration = .seconds(600)
        public var burst = 10
        public var refill: Duration = .seconds(30)
        public init() {}
    }

    private struct Seen {
        var summary: String
        var repairState: String?
    }

    public let settings: Settings
    private var open: [String: Seen] = [:]
    private var lastSent: [String: ContinuousClock.Instant] = [:]
    private var suppressed: [String: Int] = [:]
    private var tokens: Double
    private var lastRefill: ContinuousClock.Instant?

    public init(settings: Settings) {
        self.settings = settings
        tokens = Double(settings.burst)
    }

    /// Events suppressed so far by rate limiting (they are folded into later events' counts).
    public var suppressedCount: Int { suppressed.values.reduce(0, +) }

    public mutating func plan(open findings: [Finding], now: ContinuousClock.Instant) -> [NodeEvent] {
        refill(now)
        var candidates: [NodeEvent] = []
        var current: [String: Seen] = [:]
        for finding in findings where finding.kind.isNodeProblem {
            let subject = "\(finding.kind.rawValue) \(finding.key)"
            let repairState = finding.kind == .missingSubnetRoute ? finding.evidenceJSON["repairState"]?.stringValue : nil
            current[subject] = Seen(summary: finding.summary, repairState: repairState)
            let previous = open[subject]
            if previous == nil {
                candidates.append(
                    NodeEvent(severity: .warning, reason: finding.kind.openReason, message: finding.summary, subject: subject, count: 1))
            }
            if let repairState, repairState != previous?.repairState, let (severity, reason) = Self.repairEvent(repairState) {
                candidates.append(
                    NodeEvent(severity: severity, reason: reason, message: "\(finding.key): \(repairState)", subject: subject, count: 1))
            }
        }
        for (subject, seen) in open where current[subject] == nil {
            let kind = subject.split(separator: " ").first.flatMap { FindingKind(rawValue: String($0)) }
            candidates.append(
                NodeEvent(
                    severity: .normal, reason: (kind?.upperCamelName ?? "Finding") + "Cleared", message: "Cleared: \(seen.summary)",
                    subject: subject, count: 1))
        }
        open = current
        return candidates.compactMap { admit($0, now: now) }
    }

    private mutating func admit(_ event: NodeEvent, now: ContinuousClock.Instant) -> NodeEvent? {
        let limitKey = "\(event.reason) \(event.subject)"
        let recent = lastSent[limitKey].map { now - $0 < settings.perSubjectInterval } ?? false
        guard !recent, tokens >= 1 else {
            suppressed[limitKey, default: 0] += 1
            return nil
        }
        tokens -= 1
        lastSent[limitKey] = now
        var sent = event
        sent.count += suppressed.removeValue(forKey: limitKey) ?? 0
        return sent
    }

    private mutating func refill(_ now: ContinuousClock.Instant) {
        guard let last = lastRefill else {
            lastRefill = now
            return
        }
        let gained = Int(((now - last) / settings.refill).rounded(.down))
        guard gained >= 1 else { return }
        tokens = min(Double(settings.burst), tokens + Double(gained))
        lastRefill = last + settings.refill * gained
    }

    /// `repairState` values of `missing_subnet_route` evidence that are worth an Event.
    static func repairEvent(_ state: String) -> (NodeEvent.Severity, String)? {
        if state == "repaired" { return (.normal, "RepairInstalled") }
        if state == "flapping" { return (.warning, "RepairFlapping") }
        if state.hasPrefix("failed") || state == "verify failed" { return (.warning, "RepairFailed") }
        return nil
    }
}

extension JSONValue {
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}
