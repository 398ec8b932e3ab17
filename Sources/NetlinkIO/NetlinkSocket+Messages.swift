import Netlink

extension NetlinkSocket {
    /// ``receiveBatch(_:maxDatagrams:datagramSize:_:)`` for a multicast subscription: every
    /// message of every datagram goes through `decode`, and what it returns (nil: not one of
    /// ours) to `body`. A message that does not decode goes to `onDecodeError` and is skipped, as
    /// on every pathwatch socket; the rest of its datagram is still read unless its length field
    /// cannot be trusted. Returns whether anything was received.
    public func receiveMessages<Value>(
        _ operation: String, maxDatagrams: Int, datagramSize: Int,
        decode: (NetlinkMessage) throws(DecodeError) -> Value?,
        _ body: (Value) -> Void, onDecodeError: (DecodeError) -> Void
    ) throws(NetlinkError) -> Bool {
        let datagrams = try receiveBatch(operation, maxDatagrams: maxDatagrams, datagramSize: datagramSize) { datagram in
            var messages = MessageIterator(datagram)
            while true {
                let message: NetlinkMessage?
                do throws(DecodeError) {
                    message = try messages.next()
                } catch {
                    onDecodeError(error)
                    return  // A bad nlmsg_len: the rest of the datagram cannot be framed.
                }
                guard let message else { return }
                do throws(DecodeError) {
                    if let value = try decode(message) { body(value) }
                } catch {
                    onDecodeError(error)
                }
            }
        }
        return datagrams > 0
    }
}
