/// One netlink message borrowed from a receive buffer: its header and its payload.
public struct NetlinkMessage {
    public let header: NetlinkHeader
    /// The bytes after the 16-byte header, up to `nlmsg_len`.
    public let payload: ByteReader
    /// The whole message including its header.
    public let whole: ByteReader
}

/// Splits a receive buffer into messages, validating each `nlmsg_len` before use.
///
/// A forged or truncated length stops the walk with an error instead of reading past the buffer
/// (libmnl's own `mnl_nlmsg_ok` trusts huge lengths; this is the check in front of it).
public struct MessageIterator {
    private let reader: ByteReader
    private var offset = 0

    public init(_ buffer: UnsafeRawBufferPointer) { reader = ByteReader(buffer) }

    public mutating func next() throws(DecodeError) -> NetlinkMessage? {
        guard offset + NetlinkHeader.size <= reader.count else { return nil }
        let header = try NetlinkHeader(reader, at: offset)
        let length = Int(header.length)
        guard length >= NetlinkHeader.size, length <= reader.count - offset else {
            let left = reader.count - offset
            offset = reader.count
            throw DecodeError("nlmsghdr", "length \(length) does not fit the \(left) bytes left", offset: offset)
        }
        let whole = try reader.slice(offset, length, "nlmsg")
        let payload = try reader.slice(offset + NetlinkHeader.size, length - NetlinkHeader.size, "nlmsg")
        offset += (length + 3) & ~3
        return NetlinkMessage(header: header, payload: payload, whole: whole)
    }
}

/// Calls `body` for every message in `buffer`.
public func forEachMessage(
    in buffer: UnsafeRawBufferPointer,
    _ body: (NetlinkMessage) throws(DecodeError) -> Void
) throws(DecodeError) {
    var iterator = MessageIterator(buffer)
    while let message = try iterator.next() { try body(message) }
}

/// The body of an `NLMSG_ERROR` message: `error == 0` is an ACK.
public struct NetlinkErrorMessage: Sendable, Hashable {
    /// Negative errno, or 0 for an acknowledgement.
    public var error: Int32
    /// The header of the request this answers.
    public var requestHeader: NetlinkHeader
    /// The kernel's extended-ACK text (`NLMSGERR_ATTR_MSG`), when it sent one.
    public var extendedMessage: String?
    /// `NLMSGERR_ATTR_OFFS`: where in the request the kernel found the problem.
    public var extendedOffset: UInt32?

    public init(_ message: NetlinkMessage) throws(DecodeError) {
        let p = message.payload
        error = try p.i32Host(at: 0, "NLMSG_ERROR")
        requestHeader = try NetlinkHeader(p, at: 4)
        extendedMessage = nil
        extendedOffset = nil
        guard message.header.flags.contains(.ackTLVs) else { return }
        // Capped errors echo only the request header; uncapped ones echo the whole request.
        let echoed = message.header.flags.contains(.capped) ? NetlinkHeader.size : Int(requestHeader.length)
        let tlvStart = 4 + ((echoed + 3) & ~3)
        guard tlvStart <= p.count else { return }
        let tlvs = try p.slice(tlvStart, p.count - tlvStart, "NLMSG_ERROR ext-ack")
        var message: String?
        var offset: UInt32?
        try tlvs.forEachAttribute("NLMSG_ERROR ext-ack") { attribute throws(DecodeError) in
            switch attribute.type {
            case 1: message = attribute.string()  // NLMSGERR_ATTR_MSG
            case 2: offset = try attribute.u32Host("NLMSGERR_ATTR_OFFS")
            default: break
            }
        }
        extendedMessage = message
        extendedOffset = offset
    }
}
