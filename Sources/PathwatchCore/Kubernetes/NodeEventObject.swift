import FoundationEssentials

/// A core/v1 Event about the Node (`involvedObject` kind Node, its name and uid), as
/// `POST /api/v1/namespaces/default/events` takes it; `default` is where kubelet puts its
/// node events, so `kubectl describe node` shows ours beside them.
public struct NodeEventObject: Sendable, Equatable, Encodable {
    public struct Metadata: Sendable, Equatable, Encodable {
        public var generateName: String
        public var namespace: String
    }
    public struct ObjectReference: Sendable, Equatable, Encodable {
        public var apiVersion = "v1"
        public var kind = "Node"
        public var name: String
        public var uid: String
    }
    public struct Source: Sendable, Equatable, Encodable {
        public var component: String
        public var host: String
    }

    public var apiVersion = "v1"
    public var kind = "Event"
    public var metadata: Metadata
    public var involvedObject: ObjectReference
    public var reason: String
    public var message: String
    public var type: String
    public var count: Int
    public var firstTimestamp: Date
    public var lastTimestamp: Date
    public var source: Source
    public var reportingComponent: String
    public var reportingInstance: String

    public static let namespace = "default"
    public static let component = "pathwatch"

    public init(_ event: NodeEvent, node: String, uid: String, at time: Date) {
        metadata = Metadata(generateName: "\(node).pathwatch-", namespace: Self.namespace)
        involvedObject = ObjectReference(name: node, uid: uid)
        reason = event.reason
        message = NodeConditionEngine.bounded(event.message, suffix: "")
        type = event.severity.rawValue
        count = event.count
        firstTimestamp = time
        lastTimestamp = time
        source = Source(component: Self.component, host: node)
        reportingComponent = Self.component
        reportingInstance = node
    }

    public func json() -> [UInt8] { Array(KubernetesJSON.encode(self)) }
}

/// What pathwatch reads of its Node: the uid Events refer to, and our conditions as they are.
public struct NodeSnapshot: Sendable, Equatable {
    public var uid: String
    public var conditions: [NodeCondition]

    public static func decode(_ bytes: [UInt8]) throws(KubernetesWireError) -> NodeSnapshot {
        struct Wire: Decodable {
            struct Metadata: Decodable { var uid: String }
            struct Status: Decodable { var conditions: [LooseCondition]? }
            var metadata: Metadata
            var status: Status?
        }
        /// Other writers' conditions may lack times or reason; only ours must be complete.
        struct LooseCondition: Decodable {
            var type: String
            var status: String
            var reason: String?
            var message: String?
            var lastHeartbeatTime: Date?
            var lastTransitionTime: Date?
        }
        let wire: Wire
        do {
            wire = try KubernetesJSON.decoder().decode(Wire.self, from: Data(bytes))
        } catch {
            let start = String(decoding: bytes.prefix(60), as: UTF8.self)
            throw KubernetesWireError(description: "not a valid Node: \(error); starts with '\(start)'")
        }
        let conditions = (wire.status?.conditions ?? []).map {
            NodeCondition(
                type: $0.type, status: $0.status, reason: $0.reason ?? "", message: $0.message ?? "",
                lastHeartbeatTime: $0.lastHeartbeatTime ?? .distantPast, lastTransitionTime: $0.lastTransitionTime ?? .distantPast)
        }
        return NodeSnapshot(uid: wire.metadata.uid, conditions: conditions)
    }
}
