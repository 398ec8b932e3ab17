import Netlink

/// What the kernel answered to `ip route get DESTINATION from SOURCE`.
public enum RouteLookupOutcome: Hashable, Sendable {
    /// The traffic would leave by `interface`, via `gateway` when there is one.
    case route(interface: InterfaceIndex?, gateway: IPAddress?, table: RouteTable)
    /// The kernel has no route (the text is its error).
    case unreachable(String)
}
