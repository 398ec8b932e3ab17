/// nfnetlink_log message types: `NFNL_SUBSYS_ULOG << 8 | NFULNL_MSG_*`.
public enum NflogMessageType {
    /// The corresponding C constant is `NFNL_SUBSYS_ULOG`.
    public static let subsystem: UInt8 = 4
    /// The corresponding C constant is `NFULNL_MSG_PACKET`: a logged packet.
    public static let packet: UInt16 = 0x0400
    /// The corresponding C constant is `NFULNL_MSG_CONFIG`: bind a group, set its copy mode.
    public static let config: UInt16 = 0x0401
}

extension NetlinkRequest {
    /// Binds this socket to log group `group` (`NFULNL_CFG_CMD_BIND`) and configures it in the
    /// same message: copy `copyRange` bytes of each packet, and deliver every packet at once
    /// (queue threshold 1, no flush timeout) instead of batching them for up to a second,
    /// which is the kernel's default and would delay a finding by as much.
    ///
    /// Only one socket per network namespace can bind a group: a second gets `EPERM`.
    public static func nflogBind(group: UInt16, copyRange: UInt32) -> NetlinkRequest {
        var request = nflogConfig(group: group)
        var attributes = AttributeBuilder()
        attributes.add(1, [1])  // NFULA_CFG_CMD: NFULNL_CFG_CMD_BIND
        var mode: [UInt8] = []
        mode.appendNetwork(copyRange)
        mode += [2, 0]  // copy_mode NFULNL_COPY_PACKET, _pad
        attributes.add(2, mode)  // NFULA_CFG_MODE
        attributes.add(4, network: UInt32(0))  // NFULA_CFG_TIMEOUT, 1/100 s
        attributes.add(5, network: UInt32(1))  // NFULA_CFG_QTHRESH
        request.addAttributes(attributes)
        return request
    }

    /// An `NFULNL_MSG_CONFIG` for `group` (`res_id`), acknowledged.
    private static func nflogConfig(group: UInt16) -> NetlinkRequest {
        NetlinkRequest(
            type: NflogMessageType.config, flags: [.request, .ack],
            familyHeader: NetfilterGenericHeader(family: .unspecified, resourceID: group).bytes)
    }

    /// Releases log group `group` (`NFULNL_CFG_CMD_UNBIND`); closing the socket does it too.
    public static func nflogUnbind(group: UInt16) -> NetlinkRequest {
        var request = nflogConfig(group: group)
        var attributes = AttributeBuilder()
        attributes.add(1, [2])  // NFULA_CFG_CMD: NFULNL_CFG_CMD_UNBIND
        request.addAttributes(attributes)
        return request
    }
}

/// A packet delivered by nfnetlink_log (`NFULNL_MSG_PACKET`): which group, where it came in,
/// who sent it on the link, and the headers of the copied payload.
public struct NflogPacket: Sendable, Hashable {
    /// The packet's layer-3 family (`nfgen_family`).
    public var family: AddressFamily
    /// The log group (`res_id`).
    public var group: UInt16
    /// `NFULA_PACKET_HDR`: the netfilter hook that logged it.
    public var hook: UInt8?
    /// `NFULA_PREFIX`.
    public var prefix: String?
    /// `NFULA_IFINDEX_INDEV`.
    public var inputInterface: UInt32?
    /// `NFULA_HWADDR`: the link-layer source address (the sender's MAC on Ethernet).
    public var hardwareAddress: [UInt8]?
    /// The IP and transport headers of `NFULA_PAYLOAD`; nil when the payload is absent or not
    /// an IP packet this decoder understands.
    public var header: IPPacketHeader?

    public init(
        family: AddressFamily, group: UInt16, hook: UInt8? = nil, prefix: String? = nil, inputInterface: UInt32? = nil,
        hardwareAddress: [UInt8]? = nil, header: IPPacketHeader? = nil
    ) {
        self.family = family
        self.group = group
        self.hook = hook
        self.prefix = prefix
        self.inputInterface = inputInterface
        self.hardwareAddress = hardwareAddress
        self.header = header
    }

    /// Decodes a logged packet, or returns nil for another nfnetlink_log message.
    ///
    /// A payload that is not a parsable IPv4/IPv6 packet leaves `header` nil rather than
    /// failing: the rest of the message is still evidence.
    public init?(_ message: NetlinkMessage) throws(DecodeError) {
        guard message.header.type == NflogMessageType.packet else { return nil }
        let c = "NFULNL_MSG_PACKET"
        let p = message.payload
        let generic = try NetfilterGenericHeader(p, c)
        family = generic.family
        group = generic.resourceID
        let attributes = try p.slice(NetfilterGenericHeader.size, p.count - NetfilterGenericHeader.size, c)
        var payload: ByteReader?
        try attributes.forEachAttribute(c) { a throws(DecodeError) in
            switch a.type {
            case 1: hook = try a.payload.u8(at: 2, "NFULA_PACKET_HDR hook")
            case 4: inputInterface = try a.u32Network("NFULA_IFINDEX_INDEV")
            case 8:  // NFULA_HWADDR: struct nfulnl_msg_packet_hw { be16 len; u16 pad; u8 addr[8] }
                let length = Int(try a.u16Network("NFULA_HWADDR length"))
                guard length <= 8 else { throw DecodeError(c, "NFULA_HWADDR length \(length) above 8", offset: a.payload.baseOffset) }
                hardwareAddress = try a.payload.slice(4, length, "NFULA_HWADDR address").array()
            case 9: payload = a.payload  // NFULA_PAYLOAD
            case 10: prefix = a.string()  // NFULA_PREFIX
            default: break
            }
        }
        header = payload.flatMap { try? IPPacketHeader($0) }
    }
}
