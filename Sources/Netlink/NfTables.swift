/// nf_tables message types: `NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_*`.
public enum NfTablesMessageType {
    /// The corresponding C constant is `NFNL_SUBSYS_NFTABLES`.
    public static let subsystem: UInt16 = 10
    /// The corresponding C constant is `NFT_MSG_NEWTABLE`.
    public static let newTable: UInt16 = 0x0A00
    /// The corresponding C constant is `NFT_MSG_DELTABLE`.
    public static let deleteTable: UInt16 = 0x0A02
    /// The corresponding C constant is `NFT_MSG_NEWCHAIN`.
    public static let newChain: UInt16 = 0x0A03
    /// The corresponding C constant is `NFT_MSG_NEWRULE`.
    public static let newRule: UInt16 = 0x0A06
    /// The corresponding C constant is `NFT_MSG_GETRULE`.
    public static let getRule: UInt16 = 0x0A07
    /// The corresponding C constant is `NFNL_MSG_BATCH_BEGIN`.
    public static let batchBegin: UInt16 = 0x10
    /// The corresponding C constant is `NFNL_MSG_BATCH_END`.
    public static let batchEnd: UInt16 = 0x11
}

/// nf_tables address families (`enum nfproto`), as `nfgen_family` carries them.
public enum NfTablesFamily {
    /// The corresponding C constant is `NFPROTO_INET`: one table for IPv4 and IPv6.
    public static let inet = AddressFamily(rawValue: 1)
}

/// A base chain's hook: where in the packet path it runs and in which order.
public struct NfTablesHook: Sendable, Hashable {
    /// `enum nf_inet_hooks`.
    public var number: UInt32
    public var priority: Int32
    public init(number: UInt32, priority: Int32) {
        self.number = number
        self.priority = priority
    }
    /// The corresponding C constants are `NF_INET_PRE_ROUTING` and `NF_IP_PRI_RAW` (-300):
    /// before connection tracking and before the routing decision that drops martian sources.
    public static let preroutingRaw = NfTablesHook(number: 0, priority: -300)
    /// Prerouting at `raw - 10` (-310): after defragmentation (`NF_IP_PRI_CONNTRACK_DEFRAG`,
    /// -400), before every chain at priority raw (iptables' raw table, firewalld's `rpfilter`),
    /// whose order among themselves the kernel leaves unspecified.
    public static let preroutingBeforeRaw = NfTablesHook(number: 0, priority: -310)
}

/// Comments stored in nf_tables user data, in the TLV format `nft` reads and prints as
/// `comment "…"` (libnftnl's `NFTNL_UDATA_*_COMMENT`, type 0).
public enum NfTablesComment {
    public static func encode(_ text: String) -> [UInt8] {
        let value = Array(text.utf8.prefix(126)) + [0]
        return [0, UInt8(value.count)] + value
    }

    /// The comment in `userData`, or nil when there is none or it is malformed.
    public static func decode(_ userData: ByteReader) -> String? {
        var offset = 0
        while offset + 2 <= userData.count {
            guard let type = try? userData.u8(at: offset, "udata type"), let length = try? userData.u8(at: offset + 1, "udata length"),
                let value = try? userData.slice(offset + 2, Int(length), "udata value")
            else { return nil }
            if type == 0 { return value.string() }
            offset += 2 + Int(length)
        }
        return nil
    }
}

extension NetlinkRequest {
    /// One message of an nf_tables transaction: `NLM_F_ACK` so the kernel answers each one.
    static func nfTables(_ type: UInt16, family: AddressFamily, flags: NetlinkFlags = []) -> NetlinkRequest {
        NetlinkRequest(
            type: type, flags: NetlinkFlags([.request, .ack]).union(flags), familyHeader: NetfilterGenericHeader(family: family).bytes)
    }

    /// `NFNL_MSG_BATCH_BEGIN` / `END`: nf_tables changes are only accepted inside a batch, and
    /// the kernel applies the whole batch or none of it.
    public static func nfTablesBatch(_ type: UInt16) -> NetlinkRequest {
        NetlinkRequest(
            type: type, flags: [.request],
            familyHeader: NetfilterGenericHeader(family: .unspecified, resourceID: NfTablesMessageType.subsystem).bytes)
    }

    /// `NFT_MSG_NEWTABLE`. Without `NLM_F_EXCL` it also succeeds when the table exists.
    public static func newNfTable(family: AddressFamily, name: String, comment: String? = nil) -> NetlinkRequest {
        var request = nfTables(NfTablesMessageType.newTable, family: family, flags: [.create])
        var attributes = AttributeBuilder()
        attributes.add(1, string: name)  // NFTA_TABLE_NAME
        attributes.add(2, network: UInt32(0))  // NFTA_TABLE_FLAGS
        if let comment { attributes.add(6, NfTablesComment.encode(comment)) }  // NFTA_TABLE_USERDATA
        request.addAttributes(attributes)
        return request
    }

    /// `NFT_MSG_DELTABLE`: the table with its chains and rules.
    public static func deleteNfTable(family: AddressFamily, name: String) -> NetlinkRequest {
        var request = nfTables(NfTablesMessageType.deleteTable, family: family)
        var attributes = AttributeBuilder()
        attributes.add(1, string: name)  // NFTA_TABLE_NAME
        request.addAttributes(attributes)
        return request
    }

    /// `NFT_MSG_NEWCHAIN` for a base chain of type `filter` with policy accept.
    public static func newNfBaseChain(family: AddressFamily, table: String, name: String, hook: NfTablesHook) -> NetlinkRequest {
        var request = nfTables(NfTablesMessageType.newChain, family: family, flags: [.create])
        var attributes = AttributeBuilder()
        attributes.add(1, string: table)  // NFTA_CHAIN_TABLE
        attributes.add(3, string: name)  // NFTA_CHAIN_NAME
        attributes.addNested(4) { h in  // NFTA_CHAIN_HOOK
            h.add(1, network: hook.number)  // NFTA_HOOK_HOOKNUM
            h.add(2, network: UInt32(bitPattern: hook.priority))  // NFTA_HOOK_PRIORITY
        }
        attributes.add(5, network: UInt32(1))  // NFTA_CHAIN_POLICY: NF_ACCEPT
        attributes.add(7, string: "filter")  // NFTA_CHAIN_TYPE
        request.addAttributes(attributes)
        return request
    }

    /// `NFT_MSG_NEWRULE`, appended to the end of `chain`.
    public static func newNfRule(
        family: AddressFamily, table: String, chain: String, expressions: [NfTablesExpression], comment: String? = nil
    ) -> NetlinkRequest {
        var request = nfTables(NfTablesMessageType.newRule, family: family, flags: [.create, .append])
        var attributes = AttributeBuilder()
        attributes.add(1, string: table)  // NFTA_RULE_TABLE
        attributes.add(2, string: chain)  // NFTA_RULE_CHAIN
        attributes.addNested(4) { list in  // NFTA_RULE_EXPRESSIONS
            for expression in expressions { expression.encode(into: &list) }
        }
        if let comment { attributes.add(7, NfTablesComment.encode(comment)) }  // NFTA_RULE_USERDATA
        request.addAttributes(attributes)
        return request
    }

    /// A dump of the rules of one chain (`nft list chain`). The kernel filters by the table and
    /// chain named in the request; a missing table or chain yields an empty dump or ENOENT.
    public static func dumpNfRules(family: AddressFamily, table: String, chain: String) -> NetlinkRequest {
        var request = NetlinkRequest(
            type: NfTablesMessageType.getRule, flags: [.request, .dump], familyHeader: NetfilterGenericHeader(family: family).bytes)
        var attributes = AttributeBuilder()
        attributes.add(1, string: table)  // NFTA_RULE_TABLE
        attributes.add(2, string: chain)  // NFTA_RULE_CHAIN
        request.addAttributes(attributes)
        return request
    }
}

/// One rule from an `NFT_MSG_GETRULE` dump (or an `NFT_MSG_NEWRULE` notification): where it
/// is, its handle, its comment, its expression names and what its counter counted.
public struct NfTablesRule: Sendable, Hashable {
    public var family: AddressFamily
    public var table: String
    public var chain: String
    public var handle: UInt64?
    public var comment: String?
    /// `NFTA_EXPR_NAME` of every expression, in order.
    public var expressionNames: [String]
    /// Packets counted by the rule's first `counter` expression.
    public var counterPackets: UInt64?
    /// The values that make the rule what it is, so a check can tell a rule rewritten by
    /// someone else (another log group, rate or comparison) from the one it installed.
    public var values = NfTablesRuleValues()

    public init(_ message: NetlinkMessage) throws(DecodeError) {
        let c = "NFT_MSG_NEWRULE"
        let p = message.payload
        family = try NetfilterGenericHeader(p, c).family
        let attributes = try p.slice(NetfilterGenericHeader.size, p.count - NetfilterGenericHeader.size, c)
        var table: String?
        var chain: String?
        var handle: UInt64?
        var comment: String?
        var names: [String] = []
        var packets: UInt64?
        var values = NfTablesRuleValues()
        try attributes.forEachAttribute(c) { a throws(DecodeError) in
            switch a.type {
            case 1: table = a.string()  // NFTA_RULE_TABLE
            case 2: chain = a.string()  // NFTA_RULE_CHAIN
            case 3: handle = try a.u64Network("NFTA_RULE_HANDLE")
            case 4:  // NFTA_RULE_EXPRESSIONS
                try a.payload.forEachAttribute("NFTA_RULE_EXPRESSIONS") { element throws(DecodeError) in
                    guard element.type == 1 else { return }  // NFTA_LIST_ELEM
                    var name: String?
                    var data: ByteReader?
                    try element.payload.forEachAttribute("NFTA_LIST_ELEM") { e throws(DecodeError) in
                        switch e.type {
                        case 1: name = e.string()  // NFTA_EXPR_NAME
                        case 2: data = e.payload  // NFTA_EXPR_DATA
                        default: break
                        }
                    }
                    guard let name else { throw DecodeError(c, "expression without NFTA_EXPR_NAME", offset: element.payload.baseOffset) }
                    names.append(name)
                    if name == "counter", packets == nil, let data {
                        try data.forEachAttribute("counter NFTA_EXPR_DATA") { d throws(DecodeError) in
                            if d.type == 2 { packets = try d.u64Network("NFTA_COUNTER_PACKETS") }
                        }
                    } else if let data {
                        try values.add(name, data)
                    }
                }
            case 7: comment = NfTablesComment.decode(a.payload)  // NFTA_RULE_USERDATA
            default: break
            }
        }
        guard let table, let chain else { throw DecodeError(c, "rule without NFTA_RULE_TABLE or NFTA_RULE_CHAIN", offset: p.baseOffset) }
        self.table = table
        self.chain = chain
        self.handle = handle
        self.comment = comment
        self.expressionNames = names
        self.counterPackets = packets
        self.values = values
    }
}
