import FoundationEssentials
import Synchronization

/// The open findings, shared by the detectors that raise them and the HTTP endpoint that
/// serves them. Detectors report; the registry keeps first/last seen and counts.
public final class FindingsRegistry: Sendable {
    private let state = Mutex<[FindingID: Finding]>([:])

    private struct FindingID: Hashable {
        var kind: FindingKind
        var key: String
    }

    public init() {}

    /// Opens a finding, or updates it when one of the same kind and key is open: summary,
    /// evidence and remediation are replaced, `lastSeen` moves, `count` grows by `occurrences`.
    /// Returns true when the finding is new.
    @discardableResult
    public func report(
        kind: FindingKind, key: String, summary: String, evidence: any FindingDetail,
        remediation: any FindingDetail, at time: Date, occurrences: Int = 1
    ) -> Bool {
        state.withLock { findings in
            let id = FindingID(kind: kind, key: key)
            if var existing = findings[id] {
                existing.summary = summary
                existing.evidence = evidence
                existing.remediation = remediation
                existing.lastSeen = time
                existing.count += occurrences
                findings[id] = existing
                return false
            }
            findings[id] = Finding(
                kind: kind, key: key, summary: summary, evidence: evidence, remediation: remediation,
                firstSeen: time, count: occurrences)
            return true
        }
    }

    /// The untyped form, for ad-hoc evidence (`[:]` literals in tests).
    @discardableResult
    public func report(
        kind: FindingKind, key: String, summary: String, evidence: [String: JSONValue],
        remediation: [String: JSONValue], at time: Date, occurrences: Int = 1
    ) -> Bool {
        report(
            kind: kind, key: key, summary: summary, evidence: evidence as any FindingDetail, remediation: remediation as any FindingDetail,
            at: time, occurrences: occurrences)
    }

    /// Closes a finding. Returns the closed finding, if one was open.
    @discardableResult
    public func clear(kind: FindingKind, key: String) -> Finding? {
        state.withLock { $0.removeValue(forKey: FindingID(kind: kind, key: key)) }
    }

    /// Closes every finding of `kind` last seen before `cutoff` (a quiet period has passed).
    public func expire(kind: FindingKind, lastSeenBefore cutoff: Date) -> [Finding] {
        state.withLock { findings in
            let stale = findings.filter { $0.key.kind == kind && $0.value.lastSeen < cutoff }
            for id in stale.keys { findings.removeValue(forKey: id) }
            return Array(stale.values)
        }
    }

    /// The open findings, oldest first.
    public func snapshot() -> [Finding] {
        state.withLock { Array($0.values) }.sorted { ($0.firstSeen, $0.kind.rawValue, $0.key) < ($1.firstSeen, $1.kind.rawValue, $1.key) }
    }

    /// `{"findings":[…]}` as `/findings` serves it: ISO 8601 times, sorted keys.
    public func json() -> [UInt8] {
        struct Envelope: Encodable { var findings: [Finding] }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(Envelope(findings: snapshot()))) ?? Data(#"{"findings":[]}"#.utf8)
        return Array(data)
    }
}
