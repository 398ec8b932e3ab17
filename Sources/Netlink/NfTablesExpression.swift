/// nf_tables rule expressions, encoded as the kernel's `NFTA_LIST_ELEM` nests
/// (`NFTA_EXPR_NAME` + `NFTA_EXPR_DATA`).
///
/// Only what pathwatch's own rules use; each case mirrors one kernel expression type, with the
/// same register conventions as `nft --debug=netlink` prints.
public enum NfTablesExpression: Sendable, Hashable {
    /// `meta load KEY => reg DREG`.
    case meta(key: MetaKey, destination: Register)
    /// `cmp OP reg SREG DATA`: DATA in the register's byte order (host order for meta/fib
    /// integers, network order for payload bytes).
    case compare(ComparisonOperator, source: Register, data: [UInt8])
    /// `payload load LEN b @ BASE + OFFSET => reg DREG`.
    case payload(base: PayloadBase, offset: UInt32, length: UInt32, destination: Register)
    /// `bitwise reg DREG = (reg SREG & MASK) ^ XOR`.
    case bitwise(source: Register, destination: Register, mask: [UInt8], xor: [UInt8])
    /// `fib FLAGS RESULT => reg DREG`.
    case fib(flags: FibFlags, result: FibResult, destination: Register)
    /// `counter`: packets and bytes that reached this point of the rule.
    case counter
    /// `limit rate RATE/UNIT burst BURST packets`: the rest of the rule runs only within the rate.
    case limit(rate: UInt64, unitSeconds: UInt64, burst: UInt32)
    /// `log group GROUP snaplen SNAPLEN`: the packet goes to nfnetlink_log.
    case log(group: UInt16, snapLength: UInt32, prefix: String?)
    /// `lookup reg SREG set NAME`: the rule goes on only if the register's value is in the set
    /// (named, or by `NFTA_SET_ID` when the set is created in the same transaction).
    case lookup(set: String, setID: UInt32, source: Register)

    /// `enum nft_registers`: the four legacy 16-byte registers.
    public struct Register: RawRepresentable, Sendable, Hashable {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// The corresponding C constant is `NFT_REG_1`.
        public static let one = Register(rawValue: 1)
    }

    /// `enum nft_meta_keys`.
    public struct MetaKey: RawRepresentable, Sendable, Hashable {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// The corresponding C constant is `NFT_META_IIF`: the input interface index (u32).
        public static let inputInterface = MetaKey(rawValue: 4)
        /// The corresponding C constant is `NFT_META_L4PROTO`: the transport protocol (u8).
        public static let transportProtocol = MetaKey(rawValue: 16)
        /// The corresponding C constant is `NFT_META_NFPROTO`: the packet's family in an inet
        /// chain (u8, `NFPROTO_IPV4` 2 or `NFPROTO_IPV6` 10).
        public static let family = MetaKey(rawValue: 15)
    }

    /// `enum nft_cmp_ops`.
    public struct ComparisonOperator: RawRepresentable, Sendable, Hashable {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// The corresponding C constant is `NFT_CMP_EQ`.
        public static let equal = ComparisonOperator(rawValue: 0)
        /// The corresponding C constant is `NFT_CMP_NEQ`.
        public static let notEqual = ComparisonOperator(rawValue: 1)
    }

    /// `enum nft_payload_bases`.
    public struct PayloadBase: RawRepresentable, Sendable, Hashable {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// The corresponding C constant is `NFT_PAYLOAD_TRANSPORT_HEADER`.
        public static let transportHeader = PayloadBase(rawValue: 2)
        /// The corresponding C constant is `NFT_PAYLOAD_NETWORK_HEADER`.
        public static let networkHeader = PayloadBase(rawValue: 1)
    }

    /// `enum nft_fib_flags`.
    public struct FibFlags: OptionSet, Sendable, Hashable {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// The corresponding C constant is `NFTA_FIB_F_SADDR`: look up the source address.
        public static let sourceAddress = FibFlags(rawValue: 1 << 0)
        /// The corresponding C constant is `NFTA_FIB_F_IIF`: restrict the lookup to the input
        /// interface (the strict reverse-path check).
        public static let inputInterface = FibFlags(rawValue: 1 << 3)
        /// The corresponding C constant is `NFTA_FIB_F_PRESENT`: store whether a result exists.
        public static let present = FibFlags(rawValue: 1 << 5)
    }

    /// `enum nft_fib_result`.
    public struct FibResult: RawRepresentable, Sendable, Hashable {
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// The corresponding C constant is `NFT_FIB_RESULT_ADDRTYPE`: the address's route type
        /// (`RTN_*`, u32).
        public static let addressType = FibResult(rawValue: 3)
        /// The corresponding C constant is `NFT_FIB_RESULT_OIF`: the output interface (u32).
        public static let outputInterface = FibResult(rawValue: 1)
    }

    /// The kernel's name for the expression type (`NFTA_EXPR_NAME`).
    public var name: String {
        switch self {
        case .meta: "meta"
        case .compare: "cmp"
        case .payload: "payload"
        case .bitwise: "bitwise"
        case .fib: "fib"
        case .counter: "counter"
        case .limit: "limit"
        case .log: "log"
        case .lookup: "lookup"
        }
    }

    /// Appends this expression as one `NFTA_LIST_ELEM`.
    public func encode(into list: inout AttributeBuilder) {
        list.addNested(1) { element in  // NFTA_LIST_ELEM
            element.add(1, string: name)  // NFTA_EXPR_NAME
            element.addNested(2) { data in encodeData(into: &data) }  // NFTA_EXPR_DATA
        }
    }

    private func encodeData(into data: inout AttributeBuilder) {
        switch self {
        case .meta(let key, let destination):
            data.add(1, network: destination.rawValue)  // NFTA_META_DREG
            data.add(2, network: key.rawValue)  // NFTA_META_KEY
        case .compare(let op, let source, let bytes):
            data.add(1, network: source.rawValue)  // NFTA_CMP_SREG
            data.add(2, network: op.rawValue)  // NFTA_CMP_OP
            data.addNested(3) { $0.add(1, bytes) }  // NFTA_CMP_DATA { NFTA_DATA_VALUE }
        case .payload(let base, let offset, let length, let destination):
            data.add(1, network: destination.rawValue)  // NFTA_PAYLOAD_DREG
            data.add(2, network: base.rawValue)  // NFTA_PAYLOAD_BASE
            data.add(3, network: offset)  // NFTA_PAYLOAD_OFFSET
            data.add(4, network: length)  // NFTA_PAYLOAD_LEN
        case .bitwise(let source, let destination, let mask, let xor):
            data.add(1, network: source.rawValue)  // NFTA_BITWISE_SREG
            data.add(2, network: destination.rawValue)  // NFTA_BITWISE_DREG
            data.add(3, network: UInt32(mask.count))  // NFTA_BITWISE_LEN
            data.addNested(4) { $0.add(1, mask) }  // NFTA_BITWISE_MASK { NFTA_DATA_VALUE }
            data.addNested(5) { $0.add(1, xor) }  // NFTA_BITWISE_XOR { NFTA_DATA_VALUE }
        case .fib(let flags, let result, let destination):
            data.add(1, network: destination.rawValue)  // NFTA_FIB_DREG
            data.add(2, network: result.rawValue)  // NFTA_FIB_RESULT
            data.add(3, network: flags.rawValue)  // NFTA_FIB_FLAGS
        case .counter:
            data.add(1, network: UInt64(0))  // NFTA_COUNTER_BYTES
            data.add(2, network: UInt64(0))  // NFTA_COUNTER_PACKETS
        case .limit(let rate, let unit, let burst):
            data.add(1, network: rate)  // NFTA_LIMIT_RATE
            data.add(2, network: unit)  // NFTA_LIMIT_UNIT
            data.add(3, network: burst)  // NFTA_LIMIT_BURST
            data.add(4, network: UInt32(0))  // NFTA_LIMIT_TYPE: NFT_LIMIT_PKTS
        case .log(let group, let snapLength, let prefix):
            data.add(1, network: group)  // NFTA_LOG_GROUP (be16 despite the header's comment)
            if let prefix { data.add(2, string: prefix) }  // NFTA_LOG_PREFIX
            data.add(3, network: snapLength)  // NFTA_LOG_SNAPLEN
        case .lookup(let set, let setID, let source):
            data.add(1, string: set)  // NFTA_LOOKUP_SET
            data.add(2, network: source.rawValue)  // NFTA_LOOKUP_SREG
            data.add(4, network: setID)  // NFTA_LOOKUP_SET_ID
        }
    }
}
