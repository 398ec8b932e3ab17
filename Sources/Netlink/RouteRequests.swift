/// Requests that ask the kernel a routing question or change a route or rule.
extension NetlinkRequest {
    /// `ip route get DESTINATION from SOURCE`: which route the kernel would use for traffic
    /// sourced from `source`. The answer is one `RTM_NEWROUTE` for the destination host.
    public static func lookupRoute(to destination: IPAddress, from source: IPAddress?) -> NetlinkRequest {
        let family = destination.family
        var request = NetlinkRequest(
            type: RtnetlinkMessageType.getRoute, flags: [.request],
            familyHeader: rtmsg(
                family: family, destinationLength: UInt8(destination.bitWidth), table: 0, protocolID: .unspecified, type: .unspecified))
        request.addAttribute(RouteAttribute.destination, destination.networkBytes)
        if let source {
            request.addAttribute(RouteAttribute.source, source.networkBytes)
            request.replaceFamilyHeaderByte(at: 2, with: UInt8(source.bitWidth))  // rtm_src_len
        }
        // rtm_flags (native byte order): RTM_F_LOOKUP_TABLE, so an IPv4 answer names the table
        // the policy rules picked (as `ip route get` shows it) instead of always main. IPv6
        // answers name it anyway, and its strict request check refuses the flag (EINVAL).
        if family == .inet {
            for (offset, byte) in withUnsafeBytes(of: Self.lookupTableFlag, Array.init).enumerated() {
                request.replaceFamilyHeaderByte(at: 8 + offset, with: byte)
            }
        }
        return request
    }

    /// The corresponding C constant is `RTM_F_LOOKUP_TABLE`.
    static let lookupTableFlag: UInt32 = 0x1000

    /// `ip route add` (create-exclusive: never replaces a route someone else owns).
    public static func addRoute(_ route: Route) -> NetlinkRequest {
        routeChange(route, type: RtnetlinkMessageType.newRoute, flags: [.request, .ack, .create, .exclusive])
    }

    /// `ip route del` for exactly this route. The kernel matches `rtm_protocol` when it is set,
    /// so a delete carrying pathwatch's protocol can only remove pathwatch's own route.
    public static func deleteRoute(_ route: Route) -> NetlinkRequest {
        routeChange(route, type: RtnetlinkMessageType.delRoute, flags: [.request, .ack])
    }

    private static func routeChange(_ route: Route, type: UInt16, flags: NetlinkFlags) -> NetlinkRequest {
        let table = route.table.rawValue
        var request = NetlinkRequest(
            type: type, flags: flags,
            familyHeader: rtmsg(
                family: route.family, destinationLength: UInt8(route.destination.length), table: table < 256 ? UInt8(table) : 0,
                protocolID: route.protocolID, type: route.type, scope: route.scope))
        if route.destination.length > 0 { request.addAttribute(RouteAttribute.destination, route.destination.address.networkBytes) }
        request.addAttribute(RouteAttribute.table, host: table)
        if let priority = route.priority { request.addAttribute(RouteAttribute.priority, host: priority) }
        if let source = route.preferredSource { request.addAttribute(RouteAttribute.preferredSource, source.networkBytes) }
        if let hop = route.nextHops.first {
            if let gateway = hop.gateway { request.addAttribute(RouteAttribute.gateway, gateway.networkBytes) }
            if let interface = hop.interface { request.addAttribute(RouteAttribute.outputInterface, host: interface.rawValue) }
        }
        return request
    }

    /// `ip rule add` (create-exclusive).
    public static func addRule(_ rule: Rule) -> NetlinkRequest {
        ruleChange(rule, type: RtnetlinkMessageType.newRule, flags: [.request, .ack, .create, .exclusive])
    }

    /// `ip rule del` for exactly this rule, including its protocol.
    public static func deleteRule(_ rule: Rule) -> NetlinkRequest {
        ruleChange(rule, type: RtnetlinkMessageType.delRule, flags: [.request, .ack])
    }

    private static func ruleChange(_ rule: Rule, type: UInt16, flags: NetlinkFlags) -> NetlinkRequest {
        let table = rule.table.rawValue
        // struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action, flags.
        let header: [UInt8] = [
            rule.family.rawValue, UInt8(rule.destination?.length ?? 0), UInt8(rule.source?.length ?? 0), 0,
            table < 256 ? UInt8(table) : 0, 0, 0, rule.action, 0, 0, 0, 0,
        ]
        var request = NetlinkRequest(type: type, flags: flags, familyHeader: header)
        if let source = rule.source { request.addAttribute(RuleAttribute.source, source.address.networkBytes) }
        if let destination = rule.destination { request.addAttribute(RuleAttribute.destination, destination.address.networkBytes) }
        request.addAttribute(RuleAttribute.priority, host: rule.priority)
        request.addAttribute(RuleAttribute.table, host: table)
        request.addAttribute(RuleAttribute.protocolID, [rule.protocolID.rawValue])
        return request
    }

    /// `struct rtmsg`: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
    static func rtmsg(
        family: AddressFamily, destinationLength: UInt8, table: UInt8, protocolID: RouteProtocol, type: RouteType,
        scope: RouteScope = .universe
    ) -> [UInt8] {
        [family.rawValue, destinationLength, 0, 0, table, protocolID.rawValue, scope.rawValue, type.rawValue, 0, 0, 0, 0]
    }

    mutating func replaceFamilyHeaderByte(at offset: Int, with value: UInt8) {
        replaceByte(at: NetlinkHeader.size + offset, with: value)
    }
}

/// `RTA_*` attribute types.
public enum RouteAttribute {
    /// The corresponding C constant is `RTA_DST`.
    public static let destination: UInt16 = 1
    /// The corresponding C constant is `RTA_SRC`.
    public static let source: UInt16 = 2
    /// The corresponding C constant is `RTA_OIF`.
    public static let outputInterface: UInt16 = 4
    /// The corresponding C constant is `RTA_GATEWAY`.
    public static let gateway: UInt16 = 5
    /// The corresponding C constant is `RTA_PRIORITY`.
    public static let priority: UInt16 = 6
    /// The corresponding C constant is `RTA_PREFSRC`.
    public static let preferredSource: UInt16 = 7
    /// The corresponding C constant is `RTA_TABLE`.
    public static let table: UInt16 = 15
}

/// `FRA_*` attribute types.
public enum RuleAttribute {
    /// The corresponding C constant is `FRA_DST`.
    public static let destination: UInt16 = 1
    /// The corresponding C constant is `FRA_SRC`.
    public static let source: UInt16 = 2
    /// The corresponding C constant is `FRA_PRIORITY`.
    public static let priority: UInt16 = 6
    /// The corresponding C constant is `FRA_TABLE`.
    public static let table: UInt16 = 15
    /// The corresponding C constant is `FRA_PROTOCOL`.
    public static let protocolID: UInt16 = 21
}

extension RouteType {
    /// The corresponding C constant is `RTN_UNSPEC`.
    public static let unspecified = RouteType(rawValue: 0)
}
