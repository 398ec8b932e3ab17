/// A policy routing rule as `RTM_NEWRULE` describes it (`ip rule`).
public struct Rule: Hashable, Sendable {
    public var family: AddressFamily
    public var priority: UInt32
    public var source: IPPrefix?
    public var destination: IPPrefix?
    public var table: RouteTable
    /// `FR_ACT_*`: 1 is "lookup table".
    public var action: UInt8
    public var inputInterface: String?
    public var outputInterface: String?
    public var firewallMark: UInt32?
    public var protocolID: RouteProtocol

    public init(
        family: AddressFamily, priority: UInt32, source: IPPrefix? = nil, destination: IPPrefix? = nil,
        table: RouteTable, action: UInt8 = 1, inputInterface: String? = nil, outputInterface: String? = nil,
        firewallMark: UInt32? = nil, protocolID: RouteProtocol = .unspecified
    ) {
        self.family = family
        self.priority = priority
        self.source = source
        self.destination = destination
        self.table = table
        self.action = action
        self.inputInterface = inputInterface
        self.outputInterface = outputInterface
        self.firewallMark = firewallMark
        self.protocolID = protocolID
    }

    /// Decodes the payload of `RTM_NEWRULE`/`RTM_DELRULE` (`struct fib_rule_hdr` + attributes).
    public init(payload p: ByteReader) throws(DecodeError) {
        let c = "RTM_NEWRULE"
        guard p.count >= 12 else { throw DecodeError(c, "fib_rule_hdr truncated", offset: p.baseOffset) }
        family = AddressFamily(rawValue: try p.u8(at: 0, c))
        let dstLength = Int(try p.u8(at: 1, c))
        let srcLength = Int(try p.u8(at: 2, c))
        var table = RouteTable(rawValue: UInt32(try p.u8(at: 4, c)))
        action = try p.u8(at: 7, c)
        var priority: UInt32 = 0
        var src: IPAddress?
        var dst: IPAddress?
        var iif: String?
        var oif: String?
        var mark: UInt32?
        var proto = RouteProtocol.unspecified
        try p.slice(12, p.count - 12, c).forEachAttribute(c) { a throws(DecodeError) in
            switch a.type {
            case 1: dst = try IPAddress(networkBytes: a.payload, "FRA_DST")
            case 2: src = try IPAddress(networkBytes: a.payload, "FRA_SRC")
            case 3: iif = a.string()
            case 6: priority = try a.u32Host("FRA_PRIORITY")
            case 10: mark = try a.u32Host("FRA_FWMARK")
            case 15: table = RouteTable(rawValue: try a.u32Host("FRA_TABLE"))
            case 17: oif = a.string()
            case 21: proto = RouteProtocol(rawValue: try a.u8("FRA_PROTOCOL"))
            default: break
            }
        }
        self.priority = priority
        self.source = try src.map { a throws(DecodeError) in try Rule.prefix(a, srcLength) }
        self.destination = try dst.map { a throws(DecodeError) in try Rule.prefix(a, dstLength) }
        self.table = table
        self.inputInterface = iif
        self.outputInterface = oif
        self.firewallMark = mark
        self.protocolID = proto
    }

    private static func prefix(_ address: IPAddress, _ length: Int) throws(DecodeError) -> IPPrefix {
        guard length <= address.bitWidth else { throw DecodeError("RTM_NEWRULE", "prefix length \(length)") }
        return IPPrefix(address: address, length: length)
    }
}
