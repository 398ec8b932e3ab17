import Netlink

/// What the kernel answered to `ip route get DESTINATION from SOURCE`.
public enum RouteLookupOutcome: Hashable, Sendable {
    /// The traffic would leave by `interface`, via `gateway` when there is one.
    case route(interface: InterfaceIndex?, gateway: IPAddress?, table: RouteTable)
    /// The kernel has no route (the text is its error).
    case unreachable(String)
}

extension RouteLookupOutcome {
    /// The route types the kernel answers a lookup with an errno for, not a route: a
    /// `blackhole` (EINVAL), `unreachable` (EHOSTUNREACH) or `prohibit` (EACCES) route.
    public static let refusingRoutes: [(errno: Int32, name: String)] = [
        (22, "a blackhole route"), (113, "an unreachable route"), (13, "a prohibit route"),
    ]

    /// A refused lookup, named by the route type behind the errno (`a blackhole route (Invalid
    /// argument)`), or the kernel's text alone for any other errno.
    public static func refused(errno: Int32, message: String) -> RouteLookupOutcome {
        .unreachable(refusingRoutes.first { $0.errno == errno }.map { "\($0.name) (\(message))" } ?? message)
    }

    /// The refusing route type a refused lookup names, if any.
    public var refusingRoute: String? {
        guard case .unreachable(let text) = self else { return nil }
        return Self.refusingRoutes.first { text.hasPrefix($0.name + " (") }?.name
    }
}
