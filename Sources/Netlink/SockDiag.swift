/// sock_diag (`NETLINK_SOCK_DIAG`) for TCP: the request `ss -ti` sends and the replies it reads.
///
/// Layouts from `linux/inet_diag.h` and `linux/sock_diag.h`. Ports and addresses inside
/// `struct inet_diag_sockid` are in network byte order; everything else is host order.
public enum SockDiag {
    /// The corresponding C constant is `SOCK_DIAG_BY_FAMILY`.
    public static let byFamily: UInt16 = 20
    /// The corresponding C constant is `TCPDIAG_GETSOCK`: the original inet_diag request, which
    /// the kernel still serves (`inet_diag_dump_compat`) and answers with the same rows.
    public static let tcpGetSocket: UInt16 = 18
    /// The corresponding C constant is `IPPROTO_TCP`.
    public static let protocolTCP: UInt8 = 6
    /// The corresponding C constant is `INET_DIAG_INFO`: the attribute carrying `struct tcp_info`.
    public static let attributeInfo: UInt16 = 2
    /// The corresponding C constant is `INET_DIAG_CONG`: the congestion control name.
    public static let attributeCongestion: UInt16 = 4
    /// `sizeof(struct inet_diag_req_v2)`.
    public static let requestSize = 56
    /// `sizeof(struct inet_diag_msg)`.
    public static let messageSize = 72
}

/// A TCP state as the kernel numbers it (`TCP_ESTABLISHED` = 1 … `TCP_CLOSING` = 11).
public struct TCPState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The corresponding C constant is `TCP_ESTABLISHED`.
    public static let established = TCPState(rawValue: 1)
    /// The corresponding C constant is `TCP_SYN_SENT`.
    public static let synSent = TCPState(rawValue: 2)
    /// The corresponding C constant is `TCP_CLOSE_WAIT`.
    public static let closeWait = TCPState(rawValue: 8)
    /// The corresponding C constant is `TCP_LISTEN`.
    public static let listen = TCPState(rawValue: 10)

    /// The bit of this state in `idiag_states` (`TCPF_*`).
    public var filterBit: UInt32 { 1 << UInt32(rawValue) }

    public var description: String {
        let names = [
            "unknown", "established", "syn-sent", "syn-recv", "fin-wait-1", "fin-wait-2", "time-wait", "close", "close-wait",
            "last-ack", "listen", "closing", "new-syn-recv",
        ]
        return Int(rawValue) < names.count ? names[Int(rawValue)] : "state\(rawValue)"
    }
}

/// The congestion-avoidance state of a TCP sender (`tcpi_ca_state`, `enum tcp_ca_state`).
public struct TCPCongestionState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The corresponding C constant is `TCP_CA_Open`.
    public static let open = TCPCongestionState(rawValue: 0)
    /// The corresponding C constant is `TCP_CA_Disorder`.
    public static let disorder = TCPCongestionState(rawValue: 1)
    /// The corresponding C constant is `TCP_CA_CWR`.
    public static let cwr = TCPCongestionState(rawValue: 2)
    /// The corresponding C constant is `TCP_CA_Recovery`.
    public static let recovery = TCPCongestionState(rawValue: 3)
    /// The corresponding C constant is `TCP_CA_Loss`: an RTO fired; the sender restarts from cwnd 1.
    public static let loss = TCPCongestionState(rawValue: 4)

    public var description: String {
        let names = ["open", "disorder", "cwr", "recovery", "loss"]
        return Int(rawValue) < names.count ? names[Int(rawValue)] : "ca\(rawValue)"
    }
}

/// One TCP socket from a sock_diag dump: `struct inet_diag_msg` and its `tcp_info`.
public struct TCPSocketRecord: Sendable, Hashable {
    public var family: AddressFamily
    public var state: TCPState
    public var localAddress: IPAddress
    public var localPort: UInt16
    public var remoteAddress: IPAddress
    public var remotePort: UInt16
    /// `idiag_if`: the bound interface, 0 when unbound.
    public var interface: UInt32
    /// `idiag_cookie`: the kernel's identity of the socket, stable for its lifetime and never
    /// reused while the system runs (unlike ports or inode numbers).
    public var cookie: UInt64
    public var receiveQueue: UInt32
    public var sendQueue: UInt32
    public var uid: UInt32
    public var inode: UInt32
    /// Absent when the kernel did not attach `INET_DIAG_INFO` (not requested, or no room).
    public var info: TCPInfo?

    /// A synthetic record, for tests and benchmarks.
    public init(local: IPAddress, localPort: UInt16, remote: IPAddress, remotePort: UInt16, cookie: UInt64, info: TCPInfo?) {
        family = local.family
        state = .established
        localAddress = local
        self.localPort = localPort
        remoteAddress = remote
        self.remotePort = remotePort
        interface = 0
        self.cookie = cookie
        receiveQueue = 0
        sendQueue = 0
        uid = 0
        inode = 0
        self.info = info
    }

    /// Decodes the payload of a `SOCK_DIAG_BY_FAMILY` reply for AF_INET or AF_INET6.
    public init(payload p: ByteReader) throws(DecodeError) {
        let context = "inet_diag_msg"
        family = AddressFamily(rawValue: try p.u8(at: 0, context))
        state = TCPState(rawValue: try p.u8(at: 1, context))
        localPort = try p.u16Network(at: 4, context)
        remotePort = try p.u16Network(at: 6, context)
        let addressLength: Int
        switch family {
        case .inet: addressLength = 4
        case .inet6: addressLength = 16
        default: throw DecodeError(context, "address family \(family.rawValue) is neither AF_INET nor AF_INET6", offset: p.baseOffset)
        }
        localAddress = try IPAddress(networkBytes: try p.slice(8, addressLength, "idiag_src"), "idiag_src")
        remoteAddress = try IPAddress(networkBytes: try p.slice(24, addressLength, "idiag_dst"), "idiag_dst")
        interface = try p.u32Host(at: 40, context)
        cookie = UInt64(try p.u32Host(at: 48, context)) << 32 | UInt64(try p.u32Host(at: 44, context))
        receiveQueue = try p.u32Host(at: 56, context)
        sendQueue = try p.u32Host(at: 60, context)
        uid = try p.u32Host(at: 64, context)
        inode = try p.u32Host(at: 68, context)
        var info: TCPInfo?
        let attributes = try p.slice(SockDiag.messageSize, p.count - SockDiag.messageSize, context)
        try attributes.forEachAttribute("inet_diag attributes") { attribute throws(DecodeError) in
            if attribute.type == SockDiag.attributeInfo { info = try TCPInfo(attribute.payload) }
        }
        self.info = info
    }
}

/// `struct tcp_info` (linux/tcp.h), the fields pathwatch reads.
///
/// The kernel sends as many bytes as it knows (older kernels a shorter struct, newer ones a
/// longer one); fields past the end of what arrived are nil, and bytes beyond what this decoder
/// knows are ignored. Times are in microseconds, as the kernel reports them.
public struct TCPInfo: Sendable, Hashable {
    /// How many bytes of `tcp_info` the kernel sent.
    public var length: Int
    public var state: TCPState
    public var congestionState: TCPCongestionState
    /// `tcpi_retransmits`: consecutive unrecovered RTO retransmissions of the head segment.
    public var retransmits: UInt8
    public var backoff: UInt8
    /// `tcpi_rto`, microseconds.
    public var rto: UInt32
    public var sendMSS: UInt32
    public var unacked: UInt32
    /// `tcpi_lost`: segments currently considered lost.
    public var lost: UInt32
    /// `tcpi_retrans`: segments retransmitted and not yet acknowledged.
    public var retransOutstanding: UInt32
    /// `tcpi_rtt`, smoothed, microseconds.
    public var rtt: UInt32
    public var rttVariance: UInt32
    /// `tcpi_snd_ssthresh`, segments; `0x7fffffff` (infinite) until the first loss.
    public var sendSlowStartThreshold: UInt32
    /// `tcpi_snd_cwnd`, segments.
    public var sendCongestionWindow: UInt32
    /// `tcpi_rcv_rtt`: the receiver's RTT estimate, microseconds; 0 until data has arrived.
    public var receiveRTT: UInt32
    /// `tcpi_rcv_space`: bytes the receive-buffer autotuning expects per RTT; stays small when
    /// the incoming stream keeps stalling.
    public var receiveSpace: UInt32
    /// `tcpi_total_retrans`: every segment retransmitted over the socket's life.
    public var totalRetransmits: UInt32
    public var pacingRate: UInt64?
    public var bytesAcked: UInt64?
    public var bytesReceived: UInt64?
    public var segmentsOut: UInt32?
    public var segmentsIn: UInt32?
    public var minRTT: UInt32?
    /// `tcpi_data_segs_in`: segments with payload received (kernel 4.6+).
    public var dataSegmentsIn: UInt32?
    public var dataSegmentsOut: UInt32?
    /// `tcpi_delivery_rate`, bytes per second.
    public var deliveryRate: UInt64?
    /// `tcpi_bytes_sent`: payload bytes sent, retransmissions included (kernel 4.19+).
    public var bytesSent: UInt64?
    /// `tcpi_bytes_retrans`: payload bytes retransmitted (kernel 4.19+).
    public var bytesRetransmitted: UInt64?
    /// `tcpi_dsack_dups`: D-SACK blocks the peer sent back, i.e. segments of ours it got twice
    /// (kernel 5.4+). What the node's own receive side sends is only node-wide
    /// (`TcpExt: TCPDSACKOldSent`).
    public var dsackDuplicates: UInt32?
    /// `tcpi_rcv_ooopack`: data packets that arrived out of order, the receiver's view of loss
    /// on the way in (kernel 5.4+).
    public var outOfOrderPacketsReceived: UInt32?

    /// The shortest `tcp_info` decoded: up to `tcpi_total_retrans` (kernel 2.6.x).
    public static let minimumLength = 104

    public static let unboundedSlowStartThreshold: UInt32 = 0x7fff_ffff

    /// A synthetic sample, for tests and benchmarks.
    public init(
        state: TCPState = .established, congestionState: TCPCongestionState = .open, sendCongestionWindow: UInt32 = 10,
        sendSlowStartThreshold: UInt32 = unboundedSlowStartThreshold, rtt: UInt32 = 1000, totalRetransmits: UInt32 = 0,
        bytesSent: UInt64? = 0, bytesRetransmitted: UInt64? = 0, deliveryRate: UInt64? = nil, lost: UInt32 = 0,
        bytesReceived: UInt64? = 0, dataSegmentsIn: UInt32? = 0, outOfOrderPacketsReceived: UInt32? = 0, receiveRTT: UInt32 = 0,
        receiveSpace: UInt32 = 14480
    ) {
        length = 232
        self.state = state
        self.congestionState = congestionState
        retransmits = 0
        backoff = 0
        rto = 200_000
        sendMSS = 1448
        unacked = 0
        self.lost = lost
        retransOutstanding = 0
        self.rtt = rtt
        rttVariance = rtt / 2
        self.sendSlowStartThreshold = sendSlowStartThreshold
        self.sendCongestionWindow = sendCongestionWindow
        self.totalRetransmits = totalRetransmits
        self.bytesSent = bytesSent
        self.bytesRetransmitted = bytesRetransmitted
        self.deliveryRate = deliveryRate
        self.bytesReceived = bytesReceived
        self.dataSegmentsIn = dataSegmentsIn
        self.outOfOrderPacketsReceived = outOfOrderPacketsReceived
        self.receiveRTT = receiveRTT
        self.receiveSpace = receiveSpace
        dsackDuplicates = 0
    }

    public init(_ r: ByteReader) throws(DecodeError) {
        let c = "tcp_info"
        guard r.count >= Self.minimumLength else {
            throw DecodeError(c, "\(r.count) bytes, shorter than the \(Self.minimumLength) every kernel sends", offset: r.baseOffset)
        }
        length = r.count
        state = TCPState(rawValue: try r.u8(at: 0, c))
        congestionState = TCPCongestionState(rawValue: try r.u8(at: 1, c))
        retransmits = try r.u8(at: 2, c)
        backoff = try r.u8(at: 4, c)
        rto = try r.u32Host(at: 8, c)
        sendMSS = try r.u32Host(at: 16, c)
        unacked = try r.u32Host(at: 24, c)
        lost = try r.u32Host(at: 32, c)
        retransOutstanding = try r.u32Host(at: 36, c)
        rtt = try r.u32Host(at: 68, c)
        rttVariance = try r.u32Host(at: 72, c)
        sendSlowStartThreshold = try r.u32Host(at: 76, c)
        sendCongestionWindow = try r.u32Host(at: 80, c)
        receiveRTT = try r.u32Host(at: 92, c)
        receiveSpace = try r.u32Host(at: 96, c)
        totalRetransmits = try r.u32Host(at: 100, c)
        func u64(_ offset: Int) throws(DecodeError) -> UInt64? { offset + 8 <= r.count ? try r.u64Host(at: offset, c) : nil }
        func u32(_ offset: Int) throws(DecodeError) -> UInt32? { offset + 4 <= r.count ? try r.u32Host(at: offset, c) : nil }
        pacingRate = try u64(104)
        bytesAcked = try u64(120)
        bytesReceived = try u64(128)
        segmentsOut = try u32(136)
        segmentsIn = try u32(140)
        minRTT = try u32(148)
        dataSegmentsIn = try u32(152)
        dataSegmentsOut = try u32(156)
        deliveryRate = try u64(160)
        bytesSent = try u64(200)
        bytesRetransmitted = try u64(208)
        dsackDuplicates = try u32(216)
        outOfOrderPacketsReceived = try u32(224)
    }
}
