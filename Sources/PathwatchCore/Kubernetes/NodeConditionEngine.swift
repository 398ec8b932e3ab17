import FoundationEssentials

/// Decides which of pathwatch's node conditions to send, and when: desired state from the open
/// findings, what the API last accepted, and a monotonic clock.
///
/// - `True` as soon as a finding of a kind is open (an open finding is evidence; no waiting).
/// - `False` only once the detectors have watched a first full window after start-up, so a
///   restart never reports healthy before it has looked (node-problem-detector #304), and a
///   `True` left by a previous run is corrected then.
/// - A status or reason change is sent at once; a changed message (counts in a summary grow
///   with every flow) at most every `messageInterval`; an unchanged condition is re-sent as a
///   heartbeat every `heartbeat`.
/// - `lastTransitionTime` moves only when the status changes, compared with what the API held.
public struct NodeConditionEngine: Sendable {
    public struct Settings: Sendable, Equatable {
        public var heartbeat: Duration = .seconds(300)
        public var messageInterval: Duration = .seconds(60)
        /// How long the detectors must have watched (after the node model is ready) before
        /// the absence of findings means healthy.
        public var firstWindow: Duration = .seconds(60)
        public init() {}
    }

    private struct Sent {
        var condition: NodeCondition
        var at: ContinuousClock.Instant?
    }

    public let settings: Settings
    private var sent: [String: Sent] = [:]
    private var readySince: ContinuousClock.Instant?
    /// Message length the API and `kubectl describe` handle comfortably.
    public static let maxMessageBytes = 1024

    public init(settings: Settings) { self.settings = settings }

    /// What the Node carried when we started (our types only): keeps `lastTransitionTime` when
    /// the status is unchanged, and makes a stale `True` something to correct.
    public mutating func seed(_ existing: [NodeCondition]) {
        let ours = Set(FindingKind.nodeProblems.map(\.conditionType))
        for condition in existing where ours.contains(condition.type) { sent[condition.type] = Sent(condition: condition, at: nil) }
    }

    /// Whether the detectors have watched long enough for "no finding" to mean healthy.
    public mutating func detectorsHaveWatched(modelReady: Bool, now: ContinuousClock.Instant) -> Bool {
        guard modelReady else { return false }
        let since = readySince ?? now
        readySince = since
        return now - since >= settings.firstWindow
    }

    /// The conditions to patch now, or none. Call ``acknowledge(_:at:)`` when the API took them.
    public mutating func plan(open: [Finding], modelReady: Bool, now: ContinuousClock.Instant, wall: Date) -> [NodeCondition] {
        let watched = detectorsHaveWatched(modelReady: modelReady, now: now)
        var desired: [NodeCondition] = []
        var due = false
        for kind in FindingKind.nodeProblems {
            let findings = open.filter { $0.kind == kind }.sorted { $0.firstSeen < $1.firstSeen }
            let status: String
            let reason: String
            let message: String
            if let first = findings.first {
                (status, reason) = ("True", kind.openReason)
                let more = findings.count > 1 ? " (and \(findings.count - 1) more)" : ""
                message = Self.bounded(first.summary, suffix: more)
            } else if watched {
                (status, reason, message) = ("False", kind.clearReason, kind.clearMessage)
            } else {
                continue
            }
            let previous = sent[kind.conditionType]
            let transition = previous.map { $0.condition.status != status ? wall : $0.condition.lastTransitionTime } ?? wall
            desired.append(
                NodeCondition(
                    type: kind.conditionType, status: status, reason: reason, message: message, lastHeartbeatTime: wall,
                    lastTransitionTime: transition))
            guard let previous, let at = previous.at else {
                due = true
                continue
            }
            if previous.condition.status != status || previous.condition.reason != reason { due = true }
            if previous.condition.message != message, now - at >= settings.messageInterval { due = true }
            if now - at >= settings.heartbeat { due = true }
        }
        return due ? desired : []
    }

    /// The API accepted `conditions` at `now`.
    public mutating func acknowledge(_ conditions: [NodeCondition], at now: ContinuousClock.Instant) {
        for condition in conditions { sent[condition.type] = Sent(condition: condition, at: now) }
    }

    static func bounded(_ summary: String, suffix: String) -> String {
        let limit = maxMessageBytes - suffix.utf8.count
        guard summary.utf8.count > limit else { return summary + suffix }
        var cut = ""
        for character in summary {
            if cut.utf8.count + character.utf8.count > limit - 3 { break }
            cut.append(character)
        }
        return cut + "..." + suffix
    }
}
