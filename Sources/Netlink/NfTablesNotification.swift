extension NfTablesMessageType {
    /// The corresponding C constant is `NFNLGRP_NFTABLES`: the multicast group on which the
    /// kernel announces every committed nf_tables change.
    public static let notificationGroup: UInt32 = 7
    /// The corresponding C constant is `NFT_MSG_NEWGEN`: sent after each committed transaction,
    /// naming the process that made it.
    public static let newGeneration: UInt16 = 0x0A0F
}

/// One nf_tables change notification (`NFNLGRP_NFTABLES`), reduced to what a watcher of one
/// table needs: which table it touched and who sent the change.
///
/// Every object message (table, chain, rule, set, set element list, object, flowtable) names
/// its table in attribute 1 (`NFTA_TABLE_NAME`, `NFTA_CHAIN_TABLE`, `NFTA_RULE_TABLE`, …), so
/// one decoder reads them all; only the generation message (`NFT_MSG_NEWGEN`) differs and
/// carries the committing process instead.
public struct NfTablesNotification: Sendable, Hashable {
    /// `NFT_MSG_*` (the low byte of the message type): 0 NEWTABLE … 8 DELRULE, 12 NEWSETELEM …
    public var message: UInt8
    public var family: AddressFamily
    /// The table the change concerns; nil for a generation message.
    public var table: String?
    /// The netlink port of the socket that asked for the change (0: the kernel itself), which
    /// tells a watcher's own transactions from everyone else's.
    public var portID: UInt32
    /// From a generation message: the process that committed the transaction.
    public var processID: UInt32?
    public var processName: String?

    public init(
        message: UInt8, family: AddressFamily, table: String?, portID: UInt32, processID: UInt32? = nil, processName: String? = nil
    ) {
        self.message = message
        self.family = family
        self.table = table
        self.portID = portID
        self.processID = processID
        self.processName = processName
    }

    /// Nil for a message of another netfilter subsystem (which a socket on this group never
    /// gets, but a recorded buffer may hold).
    public init?(_ message: NetlinkMessage) throws(DecodeError) {
        guard message.header.type >> 8 == NfTablesMessageType.subsystem else { return nil }
        let c = "nf_tables notification"
        let p = message.payload
        self.message = UInt8(truncatingIfNeeded: message.header.type)
        family = try NetfilterGenericHeader(p, c).family
        portID = message.header.portID
        let attributes = try p.slice(NetfilterGenericHeader.size, p.count - NetfilterGenericHeader.size, c)
        let generation = message.header.type == NfTablesMessageType.newGeneration
        var table: String?
        var processID: UInt32?
        var processName: String?
        try attributes.forEachAttribute(c) { a throws(DecodeError) in
            switch (generation, a.type) {
            case (false, 1): table = a.string()
            case (true, 2): processID = try a.u32Network("NFTA_GEN_PROC_PID")
            case (true, 3): processName = a.string()
            default: break
            }
        }
        self.table = table
        self.processID = processID
        self.processName = processName
    }

    /// Whether this change touched `table` of `family`, made by anyone but `ownPortID`.
    public func concerns(family: AddressFamily, table name: String, otherThan ownPortID: UInt32) -> Bool {
        table == name && self.family == family && portID != ownPortID
    }
}
