import Foundation

/// The finding kinds in the operator contract; dashboards and alerts key on these strings.
public enum FindingKind: String, Sendable, Codable, CaseIterable {
    case hairpin
    case selfSourcedSynDrop = "self_sourced_syn_drop"
    case missingSubnetRoute = "missing_subnet_route"
    case publicPathDegraded = "public_path_degraded"
    /// The private path, or both paths (the node itself), degraded; `evidence.path` says which.
    case pathDegraded = "path_degraded"
}

/// A JSON value for evidence and remediation, so each detector can say what it saw in its own
/// terms while `/findings` keeps one shape.
public enum JSONValue: Sendable, Hashable, Codable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let v): try container.encode(v)
        case .number(let v): try container.encode(v)
        case .bool(let v): try container.encode(v)
        case .array(let v): try container.encode(v)
        case .object(let v): try container.encode(v)
        case .null: try container.encodeNil()
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let v = try? container.decode(Bool.self) {
            self = .bool(v)
        } else if let v = try? container.decode(Double.self) {
            self = .number(v)
        } else if let v = try? container.decode(String.self) {
            self = .string(v)
        } else if let v = try? container.decode([JSONValue].self) {
            self = .array(v)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

/// One problem the agent found, as `/findings` serves it.
public struct Finding: Sendable, Hashable, Codable {
    public var kind: FindingKind
    /// Stable identity within its kind (e.g. the frontend or interface+destination), so a
    /// recurring problem updates one finding instead of opening many.
    public var key: String
    public var summary: String
    public var evidence: [String: JSONValue]
    public var remediation: [String: JSONValue]
    public var firstSeen: Date
    public var lastSeen: Date
    public var count: Int

    public init(
        kind: FindingKind, key: String, summary: String, evidence: [String: JSONValue] = [:],
        remediation: [String: JSONValue] = [:], firstSeen: Date, lastSeen: Date? = nil, count: Int = 1
    ) {
        self.kind = kind
        self.key = key
        self.summary = summary
        self.evidence = evidence
        self.remediation = remediation
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen ?? firstSeen
        self.count = count
    }
}
