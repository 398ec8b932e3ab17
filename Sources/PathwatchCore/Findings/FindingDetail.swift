import FoundationEssentials

/// A finding's evidence or remediation: one `Encodable` struct per finding kind, declared next
/// to the engine that fills it, so the `/findings` JSON is a test of an encoder and not of
/// string assembly spread over the detectors.
///
/// The registry keeps the typed value and encodes it only when `/findings` is served, so a
/// detector that updates a finding on every event pays no encoding cost.
public protocol FindingDetail: Encodable, Sendable {}

/// Ad-hoc evidence (tests, the doctor's rendering) keeps working as a plain JSON object.
extension Dictionary: FindingDetail where Key == String, Value == JSONValue {}

/// No remediation: serves as `{}`.
public struct NoRemediation: FindingDetail, Equatable {
    public init() {}
}

extension JSONValue {
    /// The JSON value a detail encodes to, for readers that walk it key by key (`doctor`'s
    /// text output, tests). Not on a hot path: one encode and one decode.
    public init(encoding detail: some Encodable) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(detail), let value = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            self = .null
            return
        }
        self = value
    }

    /// The members when this is an object, else none.
    public var objectMembers: [String: JSONValue] {
        if case .object(let members) = self { return members }
        return [:]
    }
}
