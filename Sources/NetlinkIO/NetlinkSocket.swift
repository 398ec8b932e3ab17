import CNetlink
import Glibc
import Netlink
import SystemPackage

/// A netlink socket over libmnl.
///
/// Owned by one thread at a time: a dump socket by whoever holds it, a subscription socket by
/// its watcher thread. Blocking receives never run on Swift concurrency's cooperative pool.
///
/// `@unchecked Sendable` because its sequence counter, wake settings and receive buffer change
/// without a lock: that is safe only under the ownership rule above, which every caller keeps.
/// The one call made from another thread, `SO_ATTACH_FILTER` on a conntrack subscription
/// (`ConntrackEventSelector`), reads only the immutable descriptor; the kernel swaps filters
/// atomically. The socket wrappers built on it hold nothing mutable and are checked `Sendable`.
public final class NetlinkSocket: @unchecked Sendable {
    /// Netlink bus numbers (`NETLINK_*` protocols).
    public struct Bus: RawRepresentable, Sendable, Hashable {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        /// The corresponding C constant is `NETLINK_ROUTE`.
        public static let route = Bus(rawValue: NETLINK_ROUTE)
        /// The corresponding C constant is `NETLINK_NETFILTER`.
        public static let netfilter = Bus(rawValue: NETLINK_NETFILTER)
        /// The corresponding C constant is `NETLINK_SOCK_DIAG`.
        public static let sockDiag = Bus(rawValue: NETLINK_SOCK_DIAG)
    }

    private let socket: OpaquePointer
    public let bus: Bus
    public let portID: UInt32
    private var sequence: UInt32
    private var buffer: UnsafeMutableRawBufferPointer
    private var wake: WakeSignal?
    /// An ENOBUFS met while draining a batch, reported by the next receive.
    private var pendingOverrun = false
    private var idleTimeoutMilliseconds: Int32 = -1
    /// Slots for ``receiveBatch(_:maxDatagrams:datagramSize:_:)``, allocated on its first use.
    private var batch: DatagramBatch?

    /// Receive buffer for one `recvmsg`: the kernel puts at most 32 KiB of a dump into one
    /// datagram, and multicast datagrams are smaller, so 64 KiB never truncates.
    public static let datagramBufferSize = 64 * 1024

    public init(bus: Bus) throws(NetlinkError) {
        guard let socket = mnl_socket_open2(bus.rawValue, Int32(SOCK_CLOEXEC.rawValue)) else {
            throw NetlinkError("open netlink socket (bus \(bus.rawValue))", .system(.current))
        }
        guard mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            let error = Errno.current
            mnl_socket_close(socket)
            throw NetlinkError("bind netlink socket", .system(error))
        }
        self.socket = socket
        self.bus = bus
        self.portID = mnl_socket_get_portid(socket)
        self.sequence = UInt32(truncatingIfNeeded: UInt64(time(nil)))
        self.buffer = .allocate(byteCount: Self.datagramBufferSize, alignment: 8)
        // Extended ACKs name the attribute the kernel rejected; strict checking makes filtered
        // dumps honour their filters. Both are best effort on old kernels.
        try? setOption(NETLINK_EXT_ACK, 1, "enable NETLINK_EXT_ACK")
        try? setOption(NETLINK_GET_STRICT_CHK, 1, "enable NETLINK_GET_STRICT_CHK")
    }

    deinit {
        mnl_socket_close(socket)
        buffer.deallocate()
    }

    public var fileDescriptor: Int32 { mnl_socket_get_fd(socket) }

    private func setOption(_ option: Int32, _ value: Int32, _ operation: String) throws(NetlinkError) {
        var v = value
        _ = try syscallValue(operation) {
            mnl_socket_setsockopt(socket, option, &v, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Joins a multicast group (`NETLINK_ADD_MEMBERSHIP`).
    public func join(group: UInt32) throws(NetlinkError) {
        try setOption(NETLINK_ADD_MEMBERSHIP, Int32(group), "join netlink group \(group)")
    }

    /// Sizes the kernel receive queue. As root `SO_RCVBUFFORCE` passes `net.core.rmem_max`;
    /// without the privilege it falls back to `SO_RCVBUF`, which the kernel caps.
    /// Returns the size the kernel reports afterwards (it doubles the request for bookkeeping).
    @discardableResult
    public func setReceiveBufferSize(_ bytes: Int) throws(NetlinkError) -> Int {
        var value = Int32(clamping: bytes)
        let fd = fileDescriptor
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &value, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            _ = try syscallValue("set SO_RCVBUF to \(bytes)") {
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, socklen_t(MemoryLayout<Int32>.size))
            }
        }
        return receiveBufferSize
    }

    /// The receive queue size as the kernel reports it.
    public var receiveBufferSize: Int {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fileDescriptor, SOL_SOCKET, SO_RCVBUF, &value, &length)
        return Int(value)
    }

    /// Makes `receive` return nil after `milliseconds` without data, so watcher threads can
    /// notice a stop request.
    public func setReceiveTimeout(milliseconds: Int) throws(NetlinkError) {
        var tv = timeval(tv_sec: milliseconds / 1000, tv_usec: (milliseconds % 1000) * 1000)
        _ = try syscallValue("set SO_RCVTIMEO") {
            setsockopt(fileDescriptor, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    /// Makes ``receive(_:_:)`` wait in `poll(2)` for this socket or `signal`: it returns false
    /// as soon as `signal` is raised, or after `idleTimeoutMilliseconds` without data (-1: never),
    /// so a watcher thread sleeps while the kernel is quiet and stops the moment it is asked to.
    public func wakeOnSignal(_ signal: WakeSignal, idleTimeoutMilliseconds: Int32 = -1) {
        wake = signal
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
    }

    /// Changes the longest quiet wait of a socket set up with ``wakeOnSignal(_:idleTimeoutMilliseconds:)``:
    /// a watcher with work due at a known time waits no longer than until then.
    public func setIdleTimeout(milliseconds: Int32) { idleTimeoutMilliseconds = milliseconds }

    /// Asks the kernel not to report overruns. pathwatch never does this on event sockets (an
    /// overrun must trigger a re-dump); it exists for benchmarks that measure raw decoding.
    public func suppressOverrunReports() throws(NetlinkError) {
        try setOption(NETLINK_NO_ENOBUFS, 1, "enable NETLINK_NO_ENOBUFS")
    }

    public func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    public func send(_ bytes: [UInt8], _ operation: String) throws(NetlinkError) {
        let sent = try syscallValue(operation) {
            bytes.withUnsafeBytes { raw in mnl_socket_sendto(socket, raw.baseAddress, raw.count) }
        }
        guard sent == bytes.count else {
            throw NetlinkError(operation, .protocolViolation("sent \(sent) of \(bytes.count) bytes"))
        }
    }

    /// Receives one datagram and lends its bytes to `body`. Returns false on receive timeout
    /// or when the wake signal was raised.
    /// Throws `.overrun` when the kernel dropped messages for this socket (ENOBUFS on a receive).
    public func receive(
        _ operation: String,
        _ body: (UnsafeRawBufferPointer) throws(NetlinkError) -> Void
    ) throws(NetlinkError) -> Bool {
        if pendingOverrun {
            pendingOverrun = false
            throw NetlinkError(operation, .overrun)
        }
        if let wake {
            let fd = fileDescriptor
            guard WakeSignal.poll([fd], wake: wake, timeoutMilliseconds: idleTimeoutMilliseconds) == .readable else { return false }
        }
        let flags: Int32 = wake == nil ? 0 : Int32(MSG_DONTWAIT)
        let received: Int
        do {
            received = try syscallValue(operation) {
                recv(fileDescriptor, buffer.baseAddress, buffer.count, flags)
            }
        } catch {
            if case .system(let e) = error.kind {
                if e == .wouldBlock || e == .resourceTemporarilyUnavailable { return false }
                if e == .noBufferSpace { throw NetlinkError(operation, .overrun) }
            }
            throw error
        }
        try body(UnsafeRawBufferPointer(rebasing: buffer[0..<received]))
        return true
    }

    /// Receives what is queued, up to `maxDatagrams` datagrams: waits like ``receive(_:_:)`` for
    /// the first, then takes the rest without waiting, many at a time with `recvmmsg`
    /// (``DatagramBatch``), in slots of `datagramSize` bytes. Returns how many were handed to `body`.
    ///
    /// Multicast events arrive one message per datagram, so a busy subscription read one
    /// datagram at a time would pay a wake-up, a poll, a system call and the caller's per-batch
    /// work (locks, counters, the detectors' bookkeeping) for every event; draining amortises
    /// all of it. An overrun met after the first datagram ends the batch: the datagrams already
    /// read are kept, and the overrun is thrown by the next call (the kernel reports it once).
    public func receiveBatch(
        _ operation: String, maxDatagrams: Int, datagramSize: Int,
        _ body: (UnsafeRawBufferPointer) throws(NetlinkError) -> Void
    ) throws(NetlinkError) -> Int {
        guard try receive(operation, body) else { return 0 }
        if batch?.slotSize != datagramSize { batch = DatagramBatch(slots: Self.batchSlots, slotSize: datagramSize) }
        guard let batch else { return 1 }
        var datagrams = 1
        while datagrams < maxDatagrams {
            let limit = min(maxDatagrams - datagrams, batch.slots)
            switch batch.receive(from: fileDescriptor, limit: limit) {
            case .success(let received):
                for slot in 0..<received { try body(batch.datagram(slot)) }
                datagrams += received
                if received < limit { return datagrams }  // The queue is empty.
            case .failure(let error):
                if error == .noBufferSpace { pendingOverrun = true }
                return datagrams
            }
        }
        return datagrams
    }

    /// Datagrams one `recvmmsg` takes at most.
    static let batchSlots = 64

    /// Discards everything queued on the socket without blocking; returns how many datagrams.
    ///
    /// After an overrun the queued events are superseded by the re-dump that follows, and the
    /// kernel reports a further overrun only once the queue has been empty (it keeps the socket
    /// "congested" until then), so the queue must be drained *before* re-dumping or a second
    /// loss during the dump would go unreported.
    @discardableResult
    public func drain() -> Int {
        var datagrams = 0
        while true {
            let received = recv(fileDescriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if received >= 0 {
                datagrams += 1
                continue
            }
            let error = Errno.current
            if error == .interrupted || error == .noBufferSpace { continue }
            return datagrams
        }
    }

    /// Sends `request` and hands every reply message to `body` until `NLMSG_DONE` (for dumps)
    /// or the ACK (for `NLM_F_ACK` requests).
    ///
    /// Replies are matched by sequence number and port id; `NLMSG_ERROR` becomes
    /// ``NetlinkError/Kind/kernel(_:message:)``; a dump the kernel marks `NLM_F_DUMP_INTR` is
    /// read to its end and then reported as ``NetlinkError/Kind/dumpInterrupted`` so the caller
    /// dumps again instead of trusting an inconsistent snapshot.
    public func request(
        _ request: NetlinkRequest,
        _ operation: String,
        _ body: (NetlinkMessage) throws(NetlinkError) -> Void
    ) throws(NetlinkError) {
        let seq = nextSequence()
        try send(request.finish(sequence: seq), operation)
        var finished = false
        var interrupted = false
        while !finished {
            let got = try receive(operation) { datagram throws(NetlinkError) in
                var messages = MessageIterator(datagram)
                while !finished, let message = try decoding(operation, { () throws(DecodeError) in try messages.next() }) {
                    guard message.header.sequence == seq, message.header.portID == self.portID || message.header.portID == 0 else {
                        continue  // A stale reply to an earlier, abandoned request.
                    }
                    if message.header.flags.contains(.dumpInterrupted) { interrupted = true }
                    switch message.header.type {
                    case NetlinkControl.done:
                        finished = true
                    case NetlinkControl.error:
                        let error = try decoding(operation) { () throws(DecodeError) in try NetlinkErrorMessage(message) }
                        guard error.error != 0 else {
                            finished = true
                            continue
                        }
                        throw NetlinkError(operation, .kernel(Errno(rawValue: -error.error), message: error.extendedMessage))
                    case NetlinkControl.noop, NetlinkControl.overrun:
                        continue
                    default:
                        try body(message)
                        if !message.header.flags.contains(.multi), !request.isDump { finished = true }
                    }
                }
            }
            if !got {
                throw NetlinkError(operation, .protocolViolation("no reply from the kernel within the receive timeout"))
            }
        }
        if interrupted { throw NetlinkError(operation, .dumpInterrupted) }
    }
}
