import Netlink

/// Every netlink decoder on arbitrary bytes: framing first, then each message as rtnetlink,
/// ctnetlink, sock_diag, nfnetlink_log and nf_tables, and its payload as a raw IP packet (what
/// nfnetlink_log copies). Any trap is a bug; errors are the expected outcome.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var messages = MessageIterator(UnsafeRawBufferPointer(start: data, count: size))
    while let message = try? messages.next() {
        _ = try? RtnetlinkEvent(message)
        _ = try? ConntrackEvent(message)
        _ = try? ConntrackFlow(message)
        _ = try? NetlinkErrorMessage(message)
        _ = try? TCPSocketRecord(payload: message.payload)
        _ = try? NflogPacket(message)
        _ = try? NfTablesRule(message)
        _ = try? IPPacketHeader(message.payload)
        _ = NfTablesComment.decode(message.payload)
    }
    return 0
}
