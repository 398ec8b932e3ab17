/// Interface counters from `IFLA_STATS64` (`struct rtnl_link_stats64`).
public struct LinkStatistics: Hashable, Sendable {
    public var rxPackets: UInt64 = 0
    public var txPackets: UInt64 = 0
    public var rxBytes: UInt64 = 0
    public var txBytes: UInt64 = 0
    public var rxErrors: UInt64 = 0
    public var txErrors: UInt64 = 0
    public var rxDropped: UInt64 = 0
    public var txDropped: UInt64 = 0
    public var multicast: UInt64 = 0
    public var collisions: UInt64 = 0

    public init() {}

    /// The first ten `__u64` fields of `rtnl_link_stats64`; later kernels append fields we skip.
    init(_ reader: ByteReader) throws(DecodeError) {
        let c = "IFLA_STATS64"
        rxPackets = try reader.u64Host(at: 0, c)
        txPackets = try reader.u64Host(at: 8, c)
        rxBytes = try reader.u64Host(at: 16, c)
        txBytes = try reader.u64Host(at: 24, c)
        rxErrors = try reader.u64Host(at: 32, c)
        txErrors = try reader.u64Host(at: 40, c)
        rxDropped = try reader.u64Host(at: 48, c)
        txDropped = try reader.u64Host(at: 56, c)
        multicast = try reader.u64Host(at: 64, c)
        collisions = try reader.u64Host(at: 72, c)
    }
}

/// A network interface as `RTM_NEWLINK` describes it.
public struct Link: Hashable, Sendable {
    public var index: InterfaceIndex
    public var name: String
    /// `IFLA_INFO_KIND` (`veth`, `bridge`, …); nil for physical devices and loopback.
    public var kind: String?
    /// ARPHRD_* hardware type (`ifi_type`).
    public var hardwareType: UInt16
    public var mac: [UInt8]?
    public var mtu: UInt32?
    public var flags: LinkFlags
    public var operState: OperState
    /// `IFLA_MASTER`: the bridge or bond this link is enslaved to.
    public var master: InterfaceIndex?
    /// `IFLA_LINK`: the peer index for veth and similar (may live in another namespace).
    public var linkIndex: InterfaceIndex?
    public var statistics: LinkStatistics?

    public init(
        index: InterfaceIndex, name: String, kind: String? = nil, hardwareType: UInt16 = 1, mac: [UInt8]? = nil,
        mtu: UInt32? = nil, flags: LinkFlags = [], operState: OperState = .unknown, master: InterfaceIndex? = nil,
        linkIndex: InterfaceIndex? = nil, statistics: LinkStatistics? = nil
    ) {
        self.index = index
        self.name = name
        self.kind = kind
        self.hardwareType = hardwareType
        self.mac = mac
        self.mtu = mtu
        self.flags = flags
        self.operState = operState
        self.master = master
        self.linkIndex = linkIndex
        self.statistics = statistics
    }

    /// `aa:bb:cc:dd:ee:ff`, or nil when the link has no hardware address.
    public var macString: String? { mac.flatMap(Self.macString) }

    /// Hardware address bytes as `aa:bb:cc:dd:ee:ff`; nil for none. Also what nfnetlink_log's
    /// `NFULA_HWADDR` carries.
    public static func macString(_ bytes: [UInt8]) -> String? {
        guard !bytes.isEmpty else { return nil }
        return bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }

    /// Decodes the payload of `RTM_NEWLINK`/`RTM_DELLINK` (`struct ifinfomsg` + attributes).
    public init(payload p: ByteReader) throws(DecodeError) {
        let c = "RTM_NEWLINK"
        hardwareType = try p.u16Host(at: 2, c)
        index = InterfaceIndex(try p.i32Host(at: 4, c))
        flags = LinkFlags(rawValue: try p.u32Host(at: 8, c))
        guard p.count >= 16 else { throw DecodeError(c, "ifinfomsg truncated", offset: p.baseOffset) }
        var name = ""
        var kind: String?
        var mac: [UInt8]?
        var mtu: UInt32?
        var oper = OperState.unknown
        var master: InterfaceIndex?
        var linkIndex: InterfaceIndex?
        var stats: LinkStatistics?
        try p.slice(16, p.count - 16, c).forEachAttribute(c) { a throws(DecodeError) in
            switch a.type {
            case 1: mac = a.payload.array()  // IFLA_ADDRESS
            case 3: name = a.string()  // IFLA_IFNAME
            case 4: mtu = try a.u32Host("IFLA_MTU")
            case 5: linkIndex = InterfaceIndex(Int32(bitPattern: try a.u32Host("IFLA_LINK")))
            case 10: master = InterfaceIndex(Int32(bitPattern: try a.u32Host("IFLA_MASTER")))
            case 16: oper = OperState(rawValue: try a.u8("IFLA_OPERSTATE"))
            case 18:  // IFLA_LINKINFO { IFLA_INFO_KIND }
                try a.payload.forEachAttribute("IFLA_LINKINFO") { info throws(DecodeError) in
                    if info.type == 1 { kind = info.string() }
                }
            case 23: stats = try LinkStatistics(a.payload)  // IFLA_STATS64
            default: break
            }
        }
        self.name = name
        self.kind = kind
        self.mac = mac
        self.mtu = mtu
        self.operState = oper
        self.master = master
        self.linkIndex = linkIndex
        self.statistics = stats
    }
}
