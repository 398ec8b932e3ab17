import Netlink
import PathwatchCore
import Synchronization

/// The pods on this node by address, shared by the pod watcher (writer) and the hairpin and
/// self-sourced SYN evidence (readers). Empty when `kubernetes.podNames` is off.
public final class PodNames: PodNameResolver {
    private let directory = Mutex(PodDirectory())

    public init() {}

    public func pod(at address: IPAddress) -> PodReference? { directory.withLock { $0.pod(at: address) } }

    public var count: Int { directory.withLock { $0.count } }

    func update(_ body: (inout PodDirectory) -> Void) { directory.withLock { body(&$0) } }
}
