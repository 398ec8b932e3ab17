extension NetlinkRequest {
    /// A dump of the TCP sockets of `family` in `states`, each with `INET_DIAG_INFO`
    /// (`ss -ti state established`). `struct inet_diag_req_v2` with a zero socket id.
    public static func dumpTCPSockets(family: AddressFamily, states: [TCPState] = [.established]) -> NetlinkRequest {
        var header: [UInt8] = [family.rawValue, SockDiag.protocolTCP, UInt8(1 << (SockDiag.attributeInfo - 1)), 0]
        header.appendHost(states.reduce(UInt32(0)) { $0 | $1.filterBit })
        header += [UInt8](repeating: 0, count: 48)  // struct inet_diag_sockid: match every socket
        return NetlinkRequest(type: SockDiag.byFamily, flags: [.request, .dump], familyHeader: header)
    }

    /// A dump of the TCP sockets of BOTH families in `states`, each with `INET_DIAG_INFO`, in
    /// one walk of the kernel's socket hash.
    ///
    /// Why the old request: the kernel walks every bucket of the host-wide established hash for
    /// each dump, whatever the namespace holds (hundreds of thousands of buckets on a large
    /// machine: most of an idle agent's CPU was that walk, twice per sample, once per family).
    /// `SOCK_DIAG_BY_FAMILY` picks its handler by family, so it cannot ask for both;
    /// `TCPDIAG_GETSOCK` picks it by protocol and dumps with `AF_UNSPEC`, every family in one
    /// walk. Its request is `struct inet_diag_req` (family, address lengths, extensions, socket
    /// id, states, tables); the replies are the same `struct inet_diag_msg` rows, with the
    /// request's message type.
    public static func dumpTCPSocketsOfEveryFamily(states: [TCPState] = [.established]) -> NetlinkRequest {
        var header: [UInt8] = [0, 0, 0, UInt8(1 << (SockDiag.attributeInfo - 1))]
        header += [UInt8](repeating: 0, count: 48)  // struct inet_diag_sockid: match every socket
        header.appendHost(states.reduce(UInt32(0)) { $0 | $1.filterBit })
        header.appendHost(UInt32(0))  // idiag_dbs
        return NetlinkRequest(type: SockDiag.tcpGetSocket, flags: [.request, .dump], familyHeader: header)
    }
}
