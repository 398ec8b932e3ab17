import Netlink

/// A pod named the way operators type it: `namespace/name`.
public struct PodReference: Sendable, Hashable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }
    public var description: String { "\(namespace)/\(name)" }
}

/// Answers "which pod has this address?" for evidence that names flows' endpoints.
public protocol PodNameResolver: Sendable {
    func pod(at address: IPAddress) -> PodReference?
}

/// The pods on this node by address, kept from a list and then a watch of the API.
///
/// Host-network pods are left out (their address is the node's), and so are finished pods
/// (`Succeeded`/`Failed`): their address is free for the next pod.
public struct PodDirectory: Sendable, Equatable {
    private var pods: [String: (PodReference, [IPAddress])] = [:]
    private var byAddress: [IPAddress: PodReference] = [:]

    public init() {}

    public static func == (a: PodDirectory, b: PodDirectory) -> Bool { a.byAddress == b.byAddress }

    public var count: Int { pods.count }

    public func pod(at address: IPAddress) -> PodReference? { byAddress[address] }

    /// After a list: exactly these pods.
    public mutating func replaceAll(with list: [Pod]) {
        pods = [:]
        byAddress = [:]
        for pod in list { upsert(pod) }
    }

    public mutating func apply(_ change: PodChange) {
        switch change {
        case .upsert(let pod): upsert(pod)
        case .delete(let pod): remove(uid: pod.uid)
        }
    }

    private mutating func upsert(_ pod: Pod) {
        remove(uid: pod.uid)
        guard !pod.hostNetwork, !pod.finished, !pod.addresses.isEmpty else { return }
        let reference = PodReference(namespace: pod.namespace, name: pod.name)
        pods[pod.uid] = (reference, pod.addresses)
        for address in pod.addresses { byAddress[address] = reference }
    }

    private mutating func remove(uid: String) {
        guard let (reference, addresses) = pods.removeValue(forKey: uid) else { return }
        for address in addresses where byAddress[address] == reference { byAddress.removeValue(forKey: address) }
    }
}

/// What pathwatch reads of a Pod.
public struct Pod: Sendable, Equatable {
    public var uid: String
    public var namespace: String
    public var name: String
    public var hostNetwork: Bool
    public var finished: Bool
    public var addresses: [IPAddress]

    public init(uid: String, namespace: String, name: String, hostNetwork: Bool = false, finished: Bool = false, addresses: [IPAddress]) {
        self.uid = uid
        self.namespace = namespace
        self.name = name
        self.hostNetwork = hostNetwork
        self.finished = finished
        self.addresses = addresses
    }
}

public enum PodChange: Sendable, Equatable {
    case upsert(Pod)
    case delete(Pod)
}

extension PodNameResolver {
    /// `namespace/name` of the pods at `addresses` that have one, in order and without repeats,
    /// at most `limit`: for evidence lists (`clientPods`, `serverPods`) that stay bounded.
    public func podNames(_ addresses: some Sequence<IPAddress>, limit: Int) -> [String] {
        var names: [String] = []
        for address in addresses {
            if let pod = pod(at: address) { names.appendOnce(pod.description, limit: limit) }
        }
        return names
    }
}
