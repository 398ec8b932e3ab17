import Netlink

/// One change pathwatch would make to the kernel's routing; always tagged with pathwatch's
/// own protocol, so it can later find, verify and remove exactly what it made.
public enum RouteChange: Hashable, Sendable {
    case addRoute(Route)
    case deleteRoute(Route)
    case addRule(Rule)
    case deleteRule(Rule)

    /// The equivalent `ip` command, for logs, findings and operators who fix by hand.
    public func command(names: [InterfaceIndex: String]) -> String {
        switch self {
        case .addRoute(let r): "ip \(Self.familyFlag(r.family))route add \(Self.describe(r, names))"
        case .deleteRoute(let r): "ip \(Self.familyFlag(r.family))route del \(Self.describe(r, names))"
        case .addRule(let r): "ip \(Self.familyFlag(r.family))rule add \(Self.describe(r))"
        case .deleteRule(let r): "ip \(Self.familyFlag(r.family))rule del \(Self.describe(r))"
        }
    }

    static func familyFlag(_ family: AddressFamily) -> String { family == .inet6 ? "-6 " : "" }

    static func describe(_ route: Route, _ names: [InterfaceIndex: String]) -> String {
        var text = "\(route.destination)"
        if let gateway = route.gateway { text += " via \(gateway)" }
        if let interface = route.outputInterface { text += " dev \(names[interface] ?? "if\(interface.rawValue)")" }
        if route.table != .main { text += " table \(route.table.rawValue)" }
        return text + " proto \(route.protocolID.rawValue)"
    }

    static func describe(_ rule: Rule) -> String {
        var text = ""
        if let source = rule.source { text += "from \(source) " }
        return text + "lookup \(rule.table.rawValue) priority \(rule.priority) protocol \(rule.protocolID.rawValue)"
    }
}
