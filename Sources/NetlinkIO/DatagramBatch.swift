import CNetlink
import SystemPackage

/// Buffers for taking many queued datagrams with one `recvmmsg(2)`.
///
/// A busy multicast subscription queues one datagram per event; read with `recv` each one costs
/// a system call (entry, descriptor lookup, security hooks, exit) on top of the copy. `recvmmsg`
/// pays that once for up to ``slots`` datagrams. Every slot is ``slotSize`` bytes: a datagram
/// longer than that arrives cut to its slot, its netlink length then overruns the bytes handed
/// on, and the reader's decode-failure policy counts and skips it, as for any message that does
/// not decode. The caller picks a slot size that its messages cannot reach.
///
/// Owned by its socket, used by the socket's one reading thread at a time.
final class DatagramBatch {
    /// At most 64: the C shim's fixed header array.
    let slots: Int
    let slotSize: Int
    private let storage: UnsafeMutableRawBufferPointer
    private let lengths: UnsafeMutableBufferPointer<UInt32>

    init(slots: Int, slotSize: Int) {
        self.slots = min(max(slots, 1), 64)
        self.slotSize = slotSize
        storage = .allocate(byteCount: self.slots * slotSize, alignment: 8)
        lengths = .allocate(capacity: self.slots)
        lengths.initialize(repeating: 0)
    }

    deinit {
        storage.deallocate()
        lengths.deallocate()
    }

    /// Takes up to `limit` (at most ``slots``) queued datagrams without waiting. Returns how
    /// many were read, or the error when none was.
    func receive(from descriptor: Int32, limit: Int) -> Result<Int, Errno> {
        let count = UInt32(min(limit, slots))
        while true {
            let received = cnl_recv_datagrams(descriptor, storage.baseAddress, slotSize, count, lengths.baseAddress)
            if received >= 0 { return .success(Int(received)) }
            let error = Errno.current
            if error != .interrupted { return .failure(error) }
        }
    }

    /// The bytes of datagram `slot` of the last ``receive(from:limit:)``.
    func datagram(_ slot: Int) -> UnsafeRawBufferPointer {
        let length = min(Int(lengths[slot]), slotSize)
        return UnsafeRawBufferPointer(start: storage.baseAddress! + slot * slotSize, count: length)
    }
}
