import Netlink

/// The agent's per-packet probe for self-sourced SYNs, as nf_tables objects: its own table
/// `inet pathwatch` with one base chain, two sets of node-local endpoints, and four rules: TCP
/// SYNs and UDP from the node's own addresses (below), and SYNs from a node-local endpoint that
/// arrive from outside (``reversePathExpressions(logGroup:ratePerSecond:set:)``),
///
///     table inet pathwatch {
///         chain selfsourced_syn {
///             type filter hook prerouting priority raw - 10; policy accept;
///             iif != "lo" tcp flags & (syn | ack) == syn fib saddr type local counter
///                 limit rate 100/second log group 196
///             iif != "lo" meta l4proto udp fib saddr type local counter
///                 limit rate 100/second log group 196
///         }
///     }
///
/// UDP has no handshake to single out, but a datagram carrying one of the node's own
/// addresses that arrives from outside is never normal: a balancer that keeps the client
/// address (for UDP it cannot be turned off) sent the node's own DNS, syslog or StatsD back.
/// Priority raw runs before the routing decision that drops a martian source, so the SYN of an
/// instance hairpin is seen; the rule only logs (policy accept), it never changes a verdict.
public enum SynProbeRule {
    public static let family = NfTablesFamily.inet
    public static let table = "pathwatch"
    public static let chain = "selfsourced_syn"
    public static let hook = NfTablesHook.preroutingBeforeRaw
    public static let tableComment = "managed by pathwatch: recreated while the agent runs, removed when it stops"
    public static let ruleComment = "pathwatch: TCP SYNs with a local source address arriving from outside (instance hairpin)"
    public static let udpRuleComment = "pathwatch: UDP with a local source address arriving from outside (instance hairpin)"
    public static let reversePathRuleComment = "pathwatch: TCP SYNs from a node-local endpoint arriving from outside (pod hairpin)"
    public static let reversePathUDPRuleComment = "pathwatch: UDP from a node-local endpoint arriving from outside (pod hairpin)"
    /// The log prefix that tells the reverse-path rule's packets from the others'.
    public static let reversePathPrefix = "pathwatch-rpf"
    /// Bytes of each packet copied to the agent: an IPv6 header with a few extension headers
    /// and the TCP header fit.
    public static let snapLength: UInt32 = 128

    public static func expressions(logGroup: UInt16, ratePerSecond: Int) -> [NfTablesExpression] {
        [
            notFromLoopback, transportProtocol(.tcp), synWithoutAck, sourceAddressType(.equal),
            countLimitLog(logGroup: logGroup, ratePerSecond: ratePerSecond, prefix: nil),
        ].flatMap { $0 }
    }

    /// The UDP rule: as the TCP one, for every UDP datagram (rate-limited).
    public static func udpExpressions(logGroup: UInt16, ratePerSecond: Int) -> [NfTablesExpression] {
        [
            notFromLoopback, transportProtocol(.udp), sourceAddressType(.equal),
            countLimitLog(logGroup: logGroup, ratePerSecond: ratePerSecond, prefix: nil),
        ].flatMap { $0 }
    }

    /// The node-local endpoints (node addresses, pod host routes, bridge subnets), kept in step
    /// with the model by the agent: interval sets, one per family.
    public static let localSets = [
        NfTablesAddressSet(name: "local4", family: .inet, id: 1), NfTablesAddressSet(name: "local6", family: .inet6, id: 2),
    ]

    /// SYNs from a node-local endpoint that is not the node's own address, arriving where the
    /// strict reverse-path check would drop them (`rp_filter=1`, or a raw-table `rpfilter` rule,
    /// which run after this chain) — not from that endpoint's own link: a pod's SYN that a
    /// balancer sent back to the node through another interface. One rule per family (the set
    /// lookup reads the family's source address).
    ///
    ///     iif != "lo" meta nfproto ipv4 tcp flags & (syn | ack) == syn ip saddr @local4
    ///         fib saddr type != local fib saddr . iif oif missing
    ///         counter limit rate 100/second log prefix "pathwatch-rpf" group 196
    ///
    /// The UDP variant (`udp: true`) logs every such datagram (rate-limited): a pod's DNS or
    /// StatsD through a balancer listener that keeps the client address.
    public static func reversePathExpressions(
        logGroup: UInt16, ratePerSecond: Int, set: NfTablesAddressSet, udp: Bool = false
    ) -> [NfTablesExpression] {
        [
            notFromLoopback, family(set.family), transportProtocol(udp ? .udp : .tcp), udp ? [] : synWithoutAck,
            sourceAddress(in: set), sourceAddressType(.notEqual), noRouteBackThroughInputInterface,
            countLimitLog(logGroup: logGroup, ratePerSecond: ratePerSecond, prefix: reversePathPrefix),
        ].flatMap { $0 }
    }

    /// meta nfproto ipv4|ipv6 (`NFPROTO_IPV4` 2, `NFPROTO_IPV6` 10).
    static func family(_ family: AddressFamily) -> [NfTablesExpression] {
        [.meta(key: .family, destination: .one), .compare(.equal, source: .one, data: [family == .inet ? 2 : 10])]
    }

    /// ip saddr @local4 / ip6 saddr @local6: the source address's offset in the family's header.
    static func sourceAddress(in set: NfTablesAddressSet) -> [NfTablesExpression] {
        let (offset, length): (UInt32, UInt32) = set.family == .inet ? (12, 4) : (8, 16)
        return [
            .payload(base: .networkHeader, offset: offset, length: length, destination: .one),
            .lookup(set: set.name, setID: set.id, source: .one),
        ]
    }

    /// iif != "lo": the loopback device is always interface 1 (LOOPBACK_IFINDEX).
    static let notFromLoopback: [NfTablesExpression] = [
        .meta(key: .inputInterface, destination: .one),
        .compare(.notEqual, source: .one, data: hostBytes(UInt32(1))),
    ]

    static func transportProtocol(_ number: IPProtocolNumber) -> [NfTablesExpression] {
        [.meta(key: .transportProtocol, destination: .one), .compare(.equal, source: .one, data: [number.rawValue])]
    }

    /// fib saddr . iif oif missing: no route back to the source through the input interface.
    static let noRouteBackThroughInputInterface: [NfTablesExpression] = [
        .fib(flags: [.sourceAddress, .inputInterface, .present], result: .outputInterface, destination: .one),
        .compare(.equal, source: .one, data: hostBytes(UInt32(0))),
    ]

    /// tcp flags & (syn | ack) == syn
    static let synWithoutAck: [NfTablesExpression] = [
        .payload(base: .transportHeader, offset: 13, length: 1, destination: .one),
        .bitwise(source: .one, destination: .one, mask: [0x12], xor: [0x00]),
        .compare(.equal, source: .one, data: [0x02]),
    ]

    /// fib saddr type local (`.equal`) or != local (`.notEqual`); RTN_LOCAL = 2.
    static func sourceAddressType(_ comparison: NfTablesExpression.ComparisonOperator) -> [NfTablesExpression] {
        [
            .fib(flags: .sourceAddress, result: .addressType, destination: .one),
            .compare(comparison, source: .one, data: hostBytes(UInt32(2))),
        ]
    }

    /// counter (every match, before the limit) limit rate N/second burst 5 log group G snaplen 128
    static func countLimitLog(logGroup: UInt16, ratePerSecond: Int, prefix: String?) -> [NfTablesExpression] {
        [
            .counter,
            .limit(rate: UInt64(max(1, ratePerSecond)), unitSeconds: 1, burst: 5),
            .log(group: logGroup, snapLength: snapLength, prefix: prefix),
        ]
    }

    /// The chain's rules, in order: TCP, UDP, then the reverse-path rules: TCP for IPv4 and
    /// IPv6, UDP for IPv4 and IPv6.
    public static func rules(logGroup: UInt16, ratePerSecond: Int) -> [(expressions: [NfTablesExpression], comment: String)] {
        [
            (expressions(logGroup: logGroup, ratePerSecond: ratePerSecond), ruleComment),
            (udpExpressions(logGroup: logGroup, ratePerSecond: ratePerSecond), udpRuleComment),
        ]
            + [false, true].flatMap { udp in
                localSets.map { set in
                    (
                        reversePathExpressions(logGroup: logGroup, ratePerSecond: ratePerSecond, set: set, udp: udp),
                        udp ? reversePathUDPRuleComment : reversePathRuleComment
                    )
                }
            }
    }

    /// Whether a dump of the probe's chain shows exactly the probe's rules: nothing missing (a
    /// flush, a deleted table), nothing added there by someone else, and no value changed (a
    /// second agent rewriting a rule to its own log group leaves the names as they were).
    public static func isInstalled(_ dumped: [NfTablesRule], logGroup: UInt16, ratePerSecond: Int) -> Bool {
        let wanted = rules(logGroup: logGroup, ratePerSecond: ratePerSecond)
        guard dumped.count == wanted.count else { return false }
        return zip(dumped, wanted).allSatisfy { rule, want in
            rule.table == table && rule.chain == chain && rule.comment == want.comment
                && rule.expressionNames == want.expressions.map(\.name) && rule.values == NfTablesRuleValues(want.expressions)
        }
    }

    /// What installing the probe may do, given the table of its name found on the node.
    public enum InstallPlan: Equatable, Sendable {
        /// No such table: create it, failing if one appears meanwhile.
        case create
        /// The agent's own table (its marker comment): replace that very table (by handle).
        case replace(handle: UInt64)
        /// Someone else's table of the same name: never touch it.
        case refuse(String)
    }

    /// The agent proves a table is its own by the marker comment it writes; anything else of
    /// that name belongs to someone else (an operator's set and drop chain, say).
    public static func installPlan(existing: NfTablesTable?) -> InstallPlan {
        guard let existing else { return .create }
        guard existing.comment == tableComment, let handle = existing.handle else {
            return .refuse(
                "nftables table inet \(table) exists and is not pathwatch's (its comment is \(existing.comment.map { "\"\($0)\"" } ?? "missing"), not pathwatch's marker): refusing to replace it; rename that table, set hairpin.probe: false, or remove the table if it is a leftover"
            )
        }
        return .replace(handle: handle)
    }

    private static func hostBytes(_ value: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendHost(value)
        return bytes
    }
}
