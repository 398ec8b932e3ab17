import CNetlink
import Netlink

/// What libnetfilter_conntrack makes of a ctnetlink message: the independent decoder the
/// Swift one is checked against.
struct LibnfctFlow: Equatable, CustomStringConvertible {
    var family: UInt8
    var l4proto: UInt8
    var tcpState: UInt8?
    var id: UInt32
    var status: UInt32
    var originalSource: [UInt8]
    var originalDestination: [UInt8]
    var replySource: [UInt8]
    var replyDestination: [UInt8]
    var originalPorts: (UInt16, UInt16)
    var replyPorts: (UInt16, UInt16)

    static func == (a: Self, b: Self) -> Bool {
        a.family == b.family && a.l4proto == b.l4proto && a.tcpState == b.tcpState && a.id == b.id
            && a.status == b.status && a.originalSource == b.originalSource
            && a.originalDestination == b.originalDestination && a.replySource == b.replySource
            && a.replyDestination == b.replyDestination && a.originalPorts == b.originalPorts
            && a.replyPorts == b.replyPorts
    }

    var description: String {
        "family \(family) proto \(l4proto) state \(String(describing: tcpState)) id \(id) status \(status) "
            + "orig \(originalSource)->\(originalDestination) \(originalPorts) "
            + "reply \(replySource)->\(replyDestination) \(replyPorts)"
    }

    /// The same fields from the Swift decoder, in libnetfilter_conntrack's conventions
    /// (addresses as 16 network-order bytes, zero-padded; absent values as 0).
    init(_ flow: ConntrackFlow) {
        family = flow.family.rawValue
        l4proto = flow.original.protocolNumber.rawValue
        tcpState = flow.tcpState?.rawValue
        id = flow.id ?? 0
        status = flow.status.rawValue
        originalSource = Self.bytes(flow.original.source)
        originalDestination = Self.bytes(flow.original.destination)
        replySource = Self.bytes(flow.reply.source)
        replyDestination = Self.bytes(flow.reply.destination)
        originalPorts = (flow.original.sourcePort ?? 0, flow.original.destinationPort ?? 0)
        replyPorts = (flow.reply.sourcePort ?? 0, flow.reply.destinationPort ?? 0)
    }

    init(_ c: cnl_flow) {
        family = c.family
        l4proto = c.l4proto
        tcpState = c.has_tcp_state != 0 ? c.tcp_state : nil
        id = c.id
        status = c.status
        originalSource = withUnsafeBytes(of: c.orig_src) { Array($0) }
        originalDestination = withUnsafeBytes(of: c.orig_dst) { Array($0) }
        replySource = withUnsafeBytes(of: c.repl_src) { Array($0) }
        replyDestination = withUnsafeBytes(of: c.repl_dst) { Array($0) }
        originalPorts = (c.orig_sport, c.orig_dport)
        replyPorts = (c.repl_sport, c.repl_dport)
    }

    private static func bytes(_ address: IPAddress) -> [UInt8] {
        var out: [UInt8] = []
        switch address {
        case .v4(let v): out.appendNetwork(v)
        case .v6(let hi, let lo):
            out.appendNetwork(hi)
            out.appendNetwork(lo)
        }
        return out + [UInt8](repeating: 0, count: 16 - out.count)
    }
}

/// Decodes one message with libnetfilter_conntrack, or nil when it rejects it.
///
/// libmnl and libnetfilter_conntrack trust `nlmsg_len`, so the message must come from Swift's
/// ``MessageIterator``, which has already checked it against the buffer: `message.whole` is
/// exactly `nlmsg_len` bytes.
func libnfctDecode(_ message: NetlinkMessage) -> LibnfctFlow? {
    precondition(Int(message.header.length) == message.whole.count, "unvalidated nlmsg_len")
    var flow = cnl_flow()
    let result = cnl_nfct_decode(message.whole.bytes.baseAddress, message.whole.count, &flow)
    return result == 0 ? LibnfctFlow(flow) : nil
}
