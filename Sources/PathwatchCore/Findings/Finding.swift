import FoundationEssentials

/// The finding kinds in the operator contract; dashboards and alerts key on these strings.
public enum FindingKind: String, Sendable, Codable, CaseIterable {
    case hairpin
    case selfSourcedSynDrop = "self_sourced_syn_drop"
    case missingSubnetRoute = "missing_subnet_route"
    case publicPathDegraded = "public_path_degraded"
    /// The private path, or both paths (the node itself), degraded; `evidence.path` says which.
    case pathDegraded = "path_degraded"
    /// One peer losing packets while the other peers of its path are clean. Informational:
    /// the default alerts do not match it (contract addition, docs/design/path-degradation.md).
    case peerPathDegraded = "peer_path_degraded"
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
public struct Finding: Sendable, Encodable {
    public var kind: FindingKind
    /// Stable identity within its kind (e.g. the frontend or interface+destination), so a
    /// recurring problem updates one finding instead of opening many. Engines keep typed keys
    /// and give the registry their description.
    public var key: String
    public var summary: String
    /// One ``FindingDetail`` struct per kind, encoded when served.
    public var evidence: any FindingDetail
    public var remediation: any FindingDetail
    public var firstSeen: Date
    public var lastSeen: Date
    public var count: Int

    public init(
        kind: FindingKind, key: String, summary: String, evidence: any FindingDetail = [String: JSONValue](),
        remediation: any FindingDetail = NoRemediation(), firstSeen: Date, lastSeen: Date? = nil, count: Int = 1
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

    /// The evidence as a JSON object, for readers that walk it key by key.
    public var evidenceJSON: [String: JSONValue] { JSONValue(encoding: evidence).objectMembers }
    /// The remediation as a JSON object, for readers that walk it key by key.
    public var remediationJSON: [String: JSONValue] { JSONValue(encoding: remediation).objectMembers }

    private enum CodingKeys: String, CodingKey {
        case kind, key, summary, evidence, remediation, firstSeen, lastSeen, count
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(key, forKey: .key)
        try container.encode(summary, forKey: .summary)
        try container.encode(evidence, forKey: .evidence)
        try container.encode(remediation, forKey: .remediation)
        try container.encode(firstSeen, forKey: .firstSeen)
        try container.encode(lastSeen, forKey: .lastSeen)
        try container.encode(count, forKey: .count)
    }
}
