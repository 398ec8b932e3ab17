extension NfTablesMessageType {
    /// The corresponding C constant is `NFT_MSG_NEWSET`.
    public static let newSet: UInt16 = 0x0A09
    /// The corresponding C constant is `NFT_MSG_NEWSETELEM`.
    public static let newSetElements: UInt16 = 0x0A0C
    /// The corresponding C constant is `NFT_MSG_DELSETELEM`.
    public static let deleteSetElements: UInt16 = 0x0A0E
}

/// A named set of addresses of one family with interval elements (`type ipv4_addr; flags
/// interval`), as nft creates it.
public struct NfTablesAddressSet: Sendable, Hashable {
    public var name: String
    public var family: AddressFamily
    /// `NFTA_SET_ID`: lets a rule of the same transaction refer to the set before it exists.
    public var id: UInt32

    public init(name: String, family: AddressFamily, id: UInt32) {
        self.name = name
        self.family = family
        self.id = id
    }

    /// nft's datatype numbers (`TYPE_IPADDR` 7, `TYPE_IP6ADDR` 8), so `nft list` prints the
    /// elements as addresses.
    var keyType: UInt32 { family == .inet ? 7 : 8 }
    var keyLength: UInt32 { family == .inet ? 4 : 16 }
}

/// One element of an interval set: a range's start, or the key just past its end
/// (`NFT_SET_ELEM_INTERVAL_END`).
public struct NfTablesIntervalElement: Sendable, Hashable {
    public var key: IPAddress
    public var isEnd: Bool
    public init(key: IPAddress, isEnd: Bool) {
        self.key = key
        self.isEnd = isEnd
    }
}

extension NetlinkRequest {
    /// `NFT_MSG_NEWSET` for an interval set of addresses.
    public static func newNfAddressSet(family: AddressFamily, table: String, set: NfTablesAddressSet) -> NetlinkRequest {
        var request = nfTables(NfTablesMessageType.newSet, family: family, flags: [.create])
        var attributes = AttributeBuilder()
        attributes.add(1, string: table)  // NFTA_SET_TABLE
        attributes.add(2, string: set.name)  // NFTA_SET_NAME
        attributes.add(3, network: UInt32(0x4))  // NFTA_SET_FLAGS: NFT_SET_INTERVAL
        attributes.add(4, network: set.keyType)  // NFTA_SET_KEY_TYPE
        attributes.add(5, network: set.keyLength)  // NFTA_SET_KEY_LEN
        attributes.add(10, network: set.id)  // NFTA_SET_ID
        request.addAttributes(attributes)
        return request
    }

    /// `NFT_MSG_NEWSETELEM` (`add: true`) or `NFT_MSG_DELSETELEM` for `elements`; an empty list
    /// with `add: false` flushes the set (`nft flush set`).
    public static func nfSetElements(
        add: Bool, family: AddressFamily, table: String, set: String, elements: [NfTablesIntervalElement]
    ) -> NetlinkRequest {
        var request = nfTables(
            add ? NfTablesMessageType.newSetElements : NfTablesMessageType.deleteSetElements, family: family,
            flags: add ? [.create] : [])
        var attributes = AttributeBuilder()
        attributes.add(1, string: table)  // NFTA_SET_ELEM_LIST_TABLE
        attributes.add(2, string: set)  // NFTA_SET_ELEM_LIST_SET
        if !elements.isEmpty {
            attributes.addNested(3) { list in  // NFTA_SET_ELEM_LIST_ELEMENTS
                for element in elements {
                    list.addNested(1) { e in  // NFTA_LIST_ELEM
                        e.addNested(1) { $0.add(1, element.key.networkBytes) }  // NFTA_SET_ELEM_KEY { NFTA_DATA_VALUE }
                        if element.isEnd { e.add(3, network: UInt32(1)) }  // NFTA_SET_ELEM_FLAGS: NFT_SET_ELEM_INTERVAL_END
                    }
                }
            }
        }
        request.addAttributes(attributes)
        return request
    }
}
