import Netlink

/// The kernel's routing, as the subnet-route reconciler needs it: a lookup and four changes.
///
/// The seam calico's `NewWithShims` puts in front of netlink: the agent's adapter over
/// `RouteClient` is the only implementation that needs root; the unit tests use an in-memory
/// route table with injectable refusals, so every retry, verify, rollback and clean-up decision
/// runs without a kernel.
public protocol RouteTableClient: AnyObject {
    /// `ip route get DESTINATION from SOURCE`; a refusal (no route, blackhole, …) is an outcome,
    /// not an error.
    func lookup(to destination: IPAddress, from source: IPAddress) -> RouteLookupOutcome
    /// Makes one change (routes and rules are added create-exclusive, deleted by exact match
    /// including protocol 196).
    func apply(_ change: RouteChange) throws(RouteChangeRefusal)
}

/// Why the kernel refused a change; `errno` lets callers compare refusals without text.
public struct RouteChangeRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    public var errno: Int32
    public var message: String

    public init(errno: Int32, message: String) {
        self.errno = errno
        self.message = message
    }

    public var description: String { message }
}
