extension NfTablesMessageType {
    /// The corresponding C constant is `NFT_MSG_GETTABLE`.
    public static let getTable: UInt16 = 0x0A01
}

/// One table from an `NFT_MSG_GETTABLE` dump: enough to tell whether it is the agent's (its
/// comment, the marker the agent writes) and to delete exactly that table (its handle).
public struct NfTablesTable: Sendable, Hashable {
    public var family: AddressFamily
    public var name: String
    public var handle: UInt64?
    public var flags: UInt32
    public var comment: String?

    public init(family: AddressFamily, name: String, handle: UInt64? = nil, flags: UInt32 = 0, comment: String? = nil) {
        self.family = family
        self.name = name
        self.handle = handle
        self.flags = flags
        self.comment = comment
    }

    public init(_ message: NetlinkMessage) throws(DecodeError) {
        let c = "NFT_MSG_NEWTABLE"
        let p = message.payload
        family = try NetfilterGenericHeader(p, c).family
        let attributes = try p.slice(NetfilterGenericHeader.size, p.count - NetfilterGenericHeader.size, c)
        var name: String?
        var handle: UInt64?
        var flags: UInt32 = 0
        var comment: String?
        try attributes.forEachAttribute(c) { a throws(DecodeError) in
            switch a.type {
            case 1: name = a.string()  // NFTA_TABLE_NAME
            case 2: flags = try a.u32Network("NFTA_TABLE_FLAGS")
            case 4: handle = try a.u64Network("NFTA_TABLE_HANDLE")
            case 6: comment = NfTablesComment.decode(a.payload)  // NFTA_TABLE_USERDATA
            default: break
            }
        }
        guard let name else { throw DecodeError(c, "table without NFTA_TABLE_NAME", offset: p.baseOffset) }
        self.name = name
        self.handle = handle
        self.flags = flags
        self.comment = comment
    }
}

extension NetlinkRequest {
    /// A dump of the tables of one family (`nft list tables inet`).
    public static func dumpNfTables(family: AddressFamily) -> NetlinkRequest {
        NetlinkRequest(
            type: NfTablesMessageType.getTable, flags: [.request, .dump], familyHeader: NetfilterGenericHeader(family: family).bytes)
    }

    /// `NFT_MSG_DELTABLE` by handle: deletes that very table, and fails (ENOENT) if it was
    /// replaced by another of the same name since it was looked at.
    public static func deleteNfTable(family: AddressFamily, handle: UInt64) -> NetlinkRequest {
        var request = nfTables(NfTablesMessageType.deleteTable, family: family)
        var attributes = AttributeBuilder()
        attributes.add(4, network: handle)  // NFTA_TABLE_HANDLE
        request.addAttributes(attributes)
        return request
    }

    /// `NFT_MSG_NEWTABLE` with `NLM_F_EXCL`: fails (EEXIST) if a table of that name appeared.
    public static func newExclusiveNfTable(family: AddressFamily, name: String, comment: String) -> NetlinkRequest {
        var request = nfTables(NfTablesMessageType.newTable, family: family, flags: [.create, .exclusive])
        var attributes = AttributeBuilder()
        attributes.add(1, string: name)  // NFTA_TABLE_NAME
        attributes.add(2, network: UInt32(0))  // NFTA_TABLE_FLAGS
        attributes.add(6, NfTablesComment.encode(comment))  // NFTA_TABLE_USERDATA
        request.addAttributes(attributes)
        return request
    }
}

/// The values of a rule's expressions that a check compares: `log` group, `limit` rate and
/// burst, and the data of each `cmp`, in order.
public struct NfTablesRuleValues: Sendable, Hashable {
    public var logGroup: UInt16?
    public var limitRate: UInt64?
    public var limitBurst: UInt32?
    public var compareData: [[UInt8]] = []

    public init() {}

    /// The values an expression list encodes, for comparison with a dumped rule.
    public init(_ expressions: [NfTablesExpression]) {
        for expression in expressions {
            switch expression {
            case .log(let group, _, _): logGroup = group
            case .limit(let rate, _, let burst):
                limitRate = rate
                limitBurst = burst
            case .compare(_, _, let data): compareData.append(data)
            default: break
            }
        }
    }

    mutating func add(_ name: String, _ data: ByteReader) throws(DecodeError) {
        switch name {
        case "log":
            try data.forEachAttribute("log NFTA_EXPR_DATA") { d throws(DecodeError) in
                if d.type == 1 { logGroup = try d.u16Network("NFTA_LOG_GROUP") }
            }
        case "limit":
            try data.forEachAttribute("limit NFTA_EXPR_DATA") { d throws(DecodeError) in
                switch d.type {
                case 1: limitRate = try d.u64Network("NFTA_LIMIT_RATE")
                case 3: limitBurst = try d.u32Network("NFTA_LIMIT_BURST")
                default: break
                }
            }
        case "cmp":
            var value: [UInt8] = []
            try data.forEachAttribute("cmp NFTA_EXPR_DATA") { d throws(DecodeError) in
                guard d.type == 3 else { return }  // NFTA_CMP_DATA
                try d.payload.forEachAttribute("NFTA_CMP_DATA") { v throws(DecodeError) in
                    if v.type == 1 { value = Array(v.payload.bytes) }  // NFTA_DATA_VALUE
                }
            }
            compareData.append(value)
        default: break
        }
    }
}
