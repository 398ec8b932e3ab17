import FoundationEssentials

/// One entry of a Node's `status.conditions`, as the API takes it (RFC 3339 times).
public struct NodeCondition: Sendable, Equatable, Codable {
    public var type: String
    /// `"True"` or `"False"` (the API's strings).
    public var status: String
    public var reason: String
    public var message: String
    public var lastHeartbeatTime: Date
    public var lastTransitionTime: Date

    public init(type: String, status: String, reason: String, message: String, lastHeartbeatTime: Date, lastTransitionTime: Date) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastHeartbeatTime = lastHeartbeatTime
        self.lastTransitionTime = lastTransitionTime
    }
}

extension FindingKind {
    /// Whether the kind is a problem of the node, reported as a condition and Events:
    /// `peer_path_degraded` is one peer's own last mile, visible in `/findings` only.
    public var isNodeProblem: Bool { self != .peerPathDegraded }

    /// The kinds with a node condition.
    public static var nodeProblems: [FindingKind] { allCases.filter(\.isNodeProblem) }

    /// The node condition type: `Pathwatch` + the kind in UpperCamelCase.
    public var conditionType: String { "Pathwatch" + upperCamelName }

    /// `self_sourced_syn_drop` → `SelfSourcedSynDrop`: condition types, event and condition reasons.
    public var upperCamelName: String {
        rawValue.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// The condition's `reason` while a finding of this kind is open.
    public var openReason: String { upperCamelName + "Found" }
    /// The condition's `reason` once none is.
    public var clearReason: String { "No" + upperCamelName }

    /// The condition's message while none is open: fixed, so it never triggers a patch itself.
    public var clearMessage: String { "pathwatch has no open \(rawValue) finding on this node" }
}

/// The body of `PATCH nodes/NAME/status` as a strategic merge patch: `conditions` merge by
/// `type`, so the entries of other types (kubelet's, node-problem-detector's) stay as they are.
public struct NodeConditionPatch: Sendable, Equatable, Encodable {
    public struct Status: Sendable, Equatable, Encodable {
        public var conditions: [NodeCondition]
    }
    public var status: Status

    public init(conditions: [NodeCondition]) { status = Status(conditions: conditions) }

    public static let contentType = "application/strategic-merge-patch+json"

    public func json() -> [UInt8] { Array(KubernetesJSON.encode(self)) }
}

/// JSON as the API server writes and reads it: RFC 3339 times with second precision.
public enum KubernetesJSON {
    public static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain structs cannot fail; an empty object keeps the caller total.
        return (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
            if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an RFC 3339 time: \(text)"))
        }
        return decoder
    }
}
