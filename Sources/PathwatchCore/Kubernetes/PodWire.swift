import FoundationEssentials
import Netlink

/// An answer from the API server that is not the JSON expected, saying what was wrong.
public struct KubernetesWireError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}

/// Decodes the API's pod lists and watch lines into ``Pod`` values, with an error that says
/// what was wrong (a proxy's HTML page, a truncated line, a `Status` where a Pod was expected).
public enum PodWire {
    /// A list answer: the pods and the `resourceVersion` a watch continues from.
    public static func list(_ bytes: [UInt8]) throws(KubernetesWireError) -> (pods: [Pod], resourceVersion: String) {
        let list: WirePodList = try decode(bytes, "pod list")
        return (list.items.map(\.pod), list.metadata?.resourceVersion ?? "")
    }

    public enum WatchLine: Sendable, Equatable {
        case change(PodChange, resourceVersion: String)
        case bookmark(resourceVersion: String)
        /// The watch ended with an API `Status` (410 Gone: the resourceVersion is too old, list again).
        case error(code: Int, message: String)
    }

    /// One line of a watch stream.
    public static func watchLine(_ bytes: [UInt8]) throws(KubernetesWireError) -> WatchLine {
        let head: WireEventHead = try decode(bytes, "watch event")
        switch head.type {
        case "ADDED", "MODIFIED", "DELETED":
            let event: WireEvent<WirePod> = try decode(bytes, "\(head.type) watch event")
            let pod = event.object.pod
            let version = event.object.metadata.resourceVersion ?? ""
            return .change(head.type == "DELETED" ? .delete(pod) : .upsert(pod), resourceVersion: version)
        case "BOOKMARK":
            let event: WireEvent<WireBookmark> = try decode(bytes, "BOOKMARK watch event")
            return .bookmark(resourceVersion: event.object.metadata.resourceVersion ?? "")
        case "ERROR":
            let event: WireEvent<WireStatus> = try decode(bytes, "ERROR watch event")
            return .error(code: event.object.code ?? 0, message: event.object.message ?? "")
        default:
            throw KubernetesWireError(description: "unknown watch event type '\(head.type)'")
        }
    }

    static func decode<T: Decodable>(_ bytes: [UInt8], _ what: String) throws(KubernetesWireError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            let start = String(decoding: bytes.prefix(60), as: UTF8.self)
            throw KubernetesWireError(description: "not a valid \(what): \(Self.reason(error)); starts with '\(start)'")
        }
    }

    private static func reason(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?:
            return "missing '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            return "wrong type at '\(context.codingPath.map(\.stringValue).joined(separator: "."))'"
        case .dataCorrupted(let context)?: return context.debugDescription
        default: return "\(error)"
        }
    }
}

private struct WireMetadata: Decodable {
    var name: String?
    var namespace: String?
    var uid: String?
    var resourceVersion: String?
}

private struct WirePod: Decodable {
    struct Spec: Decodable {
        var hostNetwork: Bool?
    }
    struct Status: Decodable {
        struct PodIP: Decodable { var ip: String }
        var phase: String?
        var podIP: String?
        var podIPs: [PodIP]?
    }
    var metadata: WireMetadata
    var spec: Spec?
    var status: Status?

    var pod: Pod {
        var addresses = (status?.podIPs ?? []).compactMap { IPAddress($0.ip) }
        if addresses.isEmpty, let single = status?.podIP.flatMap({ IPAddress($0) }) { addresses = [single] }
        return Pod(
            uid: metadata.uid ?? "\(metadata.namespace ?? "")/\(metadata.name ?? "")", namespace: metadata.namespace ?? "default",
            name: metadata.name ?? "", hostNetwork: spec?.hostNetwork ?? false,
            finished: status?.phase == "Succeeded" || status?.phase == "Failed", addresses: addresses)
    }
}

private struct WirePodList: Decodable {
    struct ListMeta: Decodable { var resourceVersion: String? }
    var metadata: ListMeta?
    var items: [WirePod]
}

private struct WireEventHead: Decodable { var type: String }

private struct WireEvent<Object: Decodable>: Decodable {
    var type: String
    var object: Object
}

private struct WireBookmark: Decodable { var metadata: WireMetadata }

private struct WireStatus: Decodable {
    var code: Int?
    var message: String?
}
