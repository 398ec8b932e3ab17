/// `struct nlmsghdr`, in host byte order.
public struct NetlinkHeader: Hashable, Sendable {
    public static let size = 16

    public var length: UInt32
    public var type: UInt16
    public var flags: NetlinkFlags
    public var sequence: UInt32
    public var portID: UInt32

    public init(length: UInt32, type: UInt16, flags: NetlinkFlags, sequence: UInt32, portID: UInt32) {
        self.length = length
        self.type = type
        self.flags = flags
        self.sequence = sequence
        self.portID = portID
    }

    init(_ reader: ByteReader, at offset: Int) throws(DecodeError) {
        length = try reader.u32Host(at: offset, "nlmsghdr")
        type = try reader.u16Host(at: offset + 4, "nlmsghdr")
        flags = NetlinkFlags(rawValue: try reader.u16Host(at: offset + 6, "nlmsghdr"))
        sequence = try reader.u32Host(at: offset + 8, "nlmsghdr")
        portID = try reader.u32Host(at: offset + 12, "nlmsghdr")
    }

    /// Appends the header in host byte order.
    public func encode(into buffer: inout [UInt8]) {
        buffer.appendHost(length)
        buffer.appendHost(type)
        buffer.appendHost(flags.rawValue)
        buffer.appendHost(sequence)
        buffer.appendHost(portID)
    }
}

/// `nlmsg_flags`.
public struct NetlinkFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// The corresponding C constant is `NLM_F_REQUEST`.
    public static let request = NetlinkFlags(rawValue: 0x01)
    /// The corresponding C constant is `NLM_F_MULTI`.
    public static let multi = NetlinkFlags(rawValue: 0x02)
    /// The corresponding C constant is `NLM_F_ACK`.
    public static let ack = NetlinkFlags(rawValue: 0x04)
    /// The corresponding C constant is `NLM_F_DUMP_INTR`: the dump raced a change; dump again.
    public static let dumpInterrupted = NetlinkFlags(rawValue: 0x10)
    /// The corresponding C constant is `NLM_F_ROOT`.
    public static let root = NetlinkFlags(rawValue: 0x100)
    /// The corresponding C constant is `NLM_F_MATCH`.
    public static let match = NetlinkFlags(rawValue: 0x200)
    /// The corresponding C constant is `NLM_F_DUMP`.
    public static let dump: NetlinkFlags = [.root, .match]
    /// The corresponding C constant is `NLM_F_REPLACE`.
    public static let replace = NetlinkFlags(rawValue: 0x100)
    /// The corresponding C constant is `NLM_F_EXCL`.
    public static let exclusive = NetlinkFlags(rawValue: 0x200)
    /// The corresponding C constant is `NLM_F_CREATE`.
    public static let create = NetlinkFlags(rawValue: 0x400)
    /// The corresponding C constant is `NLM_F_APPEND`: add at the end of a list (nf_tables rules).
    public static let append = NetlinkFlags(rawValue: 0x800)
    /// The corresponding C constant is `NLM_F_ACK_TLVS`: the error carries extended-ACK attributes.
    public static let ackTLVs = NetlinkFlags(rawValue: 0x200)
    /// The corresponding C constant is `NLM_F_CAPPED`: the error echoes only the request header.
    public static let capped = NetlinkFlags(rawValue: 0x100)
}

/// Control message types shared by every netlink family.
public enum NetlinkControl {
    /// The corresponding C constant is `NLMSG_NOOP`.
    public static let noop: UInt16 = 1
    /// The corresponding C constant is `NLMSG_ERROR`.
    public static let error: UInt16 = 2
    /// The corresponding C constant is `NLMSG_DONE`.
    public static let done: UInt16 = 3
    /// The corresponding C constant is `NLMSG_OVERRUN`.
    public static let overrun: UInt16 = 4
}

extension Array where Element == UInt8 {
    @inline(__always)
    public mutating func appendHost<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value) { append(contentsOf: $0) }
    }

    @inline(__always)
    public mutating func appendNetwork<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    /// Pads to the next 4-byte boundary (`NLMSG_ALIGN` / `NLA_ALIGN`).
    public mutating func alignTo4() {
        while count % 4 != 0 { append(0) }
    }
}
