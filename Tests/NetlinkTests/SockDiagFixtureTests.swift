import Testing

@testable import Netlink

/// Decoding of sock_diag replies recorded from this kernel by scripts/record-sockdiag-fixtures
/// (the connections it opens are described in Fixtures/sockdiag/README.md).
@Suite("sock_diag fixtures")
struct SockDiagFixtureTests {
    static func records(_ name: String) throws -> [TCPSocketRecord] {
        try Fixture.messages(name).map { bytes in
            try bytes.withUnsafeBytes { raw in
                var iterator = MessageIterator(raw)
                let message = try #require(try iterator.next())
                #expect(message.header.type == SockDiag.byFamily)
                #expect(message.header.flags.contains(.multi))
                return try TCPSocketRecord(payload: message.payload)
            }
        }
    }

    @Test func ipv4EstablishedSocketsWithTCPInfo() throws {
        let sockets = try Self.records("sockdiag/tcp4-established.bin")
        #expect(sockets.count == 3)
        for socket in sockets {
            #expect(socket.family == .inet)
            #expect(socket.state == .established)
            #expect(socket.localAddress == IPAddress("127.0.0.1"))
            #expect(socket.remoteAddress == IPAddress("127.0.0.1"))
            #expect(socket.cookie != 0)
            let info = try #require(socket.info)
            #expect(info.state == .established)
            #expect(info.length >= 232)
            #expect(info.sendCongestionWindow >= 10)
            #expect(info.sendSlowStartThreshold == TCPInfo.unboundedSlowStartThreshold)
            #expect(info.congestionState == .open)
            #expect(info.totalRetransmits == 0)
            #expect(info.bytesRetransmitted == 0)
            #expect(info.rtt > 0)
            #expect(info.rto >= 200_000)
        }
        #expect(Set(sockets.map(\.cookie)).count == 3)
        let client = try #require(sockets.first { $0.localPort == 40101 })
        #expect(client.remotePort == 9001)
        #expect(client.info?.bytesSent == 100_000)
        #expect(client.info?.bytesAcked == 100_001)  // the SYN counts one
        #expect((client.info?.dataSegmentsOut ?? 0) >= 2)
        #expect((client.info?.deliveryRate ?? 0) > 0)
        let server = try #require(sockets.first { $0.localPort == 9001 })
        #expect(server.remotePort == 40101)
        #expect(server.info?.bytesReceived == 100_000)
        #expect(server.info?.bytesSent == 0)
        let mappedClient = try #require(sockets.first { $0.localPort == 40103 })
        #expect(mappedClient.remotePort == 9003)
    }

    @Test func ipv6SocketsIncludingAMappedIPv4Peer() throws {
        let sockets = try Self.records("sockdiag/tcp6-established.bin")
        #expect(sockets.count == 3)
        #expect(sockets.allSatisfy { $0.family == .inet6 && $0.info != nil })
        let client = try #require(sockets.first { $0.localPort == 40102 })
        #expect(client.localAddress == IPAddress("::1"))
        #expect(client.info?.bytesSent == 5000)
        // A dual-stack listener's accepted IPv4 connection: the peer is ::ffff:127.0.0.1.
        let mapped = try #require(sockets.first { $0.localPort == 9003 })
        #expect(mapped.remoteAddress == IPAddress("::ffff:127.0.0.1"))
        #expect(mapped.remotePort == 40103)
        #expect(mapped.info?.bytesReceived == 300)
    }

    /// Older kernels send a shorter `tcp_info`: the fields they lack are nil, the rest decode.
    @Test func aShortTCPInfoDecodesWhatIsPresent() throws {
        let sockets = try Self.records("sockdiag/tcp4-established.bin")
        let original = try #require(sockets.first { $0.localPort == 40101 }?.info)
        var bytes = try Fixture.messages("sockdiag/tcp4-established.bin")[0]
        // Find the INET_DIAG_INFO attribute and read the struct from it at two truncations.
        let infoBytes = try Self.tcpInfoBytes(&bytes)
        for (length, hasBytesSent, hasDeliveryRate) in [(104, false, false), (168, false, true), (200, false, true), (216, true, true)] {
            let info = try Array(infoBytes.prefix(length)).withUnsafeBytes { try TCPInfo(ByteReader($0)) }
            #expect(info.length == length)
            #expect((info.bytesSent != nil) == hasBytesSent)
            #expect((info.deliveryRate != nil) == hasDeliveryRate)
            #expect(info.sendCongestionWindow > 0)
        }
        #expect(original.length == infoBytes.count)
        #expect(throws: DecodeError.self) { try Array(infoBytes.prefix(100)).withUnsafeBytes { try TCPInfo(ByteReader($0)) } }
    }

    /// The receiver's side of a socket, for a node that mostly receives: the recorded server end
    /// of the 100000-byte connection, then known values written at the uapi offsets (92, 96,
    /// 152, 216, 224) and read back, and the fields a shorter struct lacks left nil.
    @Test func receiverSignalsDecodeAtTheirOffsets() throws {
        let sockets = try Self.records("sockdiag/tcp4-established.bin")
        let server = try #require(sockets.first { $0.localPort == 9001 }?.info)
        #expect((server.dataSegmentsIn ?? 0) >= 2)
        #expect(server.outOfOrderPacketsReceived == 0)  // loopback loses nothing
        #expect(server.dsackDuplicates == 0)
        #expect(server.receiveSpace > 0)
        var bytes = try Fixture.messages("sockdiag/tcp4-established.bin")[0]
        var info = try Self.tcpInfoBytes(&bytes)
        func put(_ value: UInt32, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { info.replaceSubrange(offset..<offset + 4, with: $0) }
        }
        put(20_480, at: 92)
        put(65_536, at: 96)
        put(1_000, at: 152)
        put(7, at: 216)
        put(321, at: 224)
        let decoded = try info.withUnsafeBytes { try TCPInfo(ByteReader($0)) }
        #expect(decoded.receiveRTT == 20_480)
        #expect(decoded.receiveSpace == 65_536)
        #expect(decoded.dataSegmentsIn == 1_000)
        #expect(decoded.dsackDuplicates == 7)
        #expect(decoded.outOfOrderPacketsReceived == 321)
        for (length, hasDSACK, hasOutOfOrder) in [(216, false, false), (224, true, false), (228, true, true)] {
            let short = try Array(info.prefix(length)).withUnsafeBytes { try TCPInfo(ByteReader($0)) }
            #expect((short.dsackDuplicates != nil) == hasDSACK)
            #expect((short.outOfOrderPacketsReceived != nil) == hasOutOfOrder)
        }
        let oldest = try Array(info.prefix(TCPInfo.minimumLength)).withUnsafeBytes { try TCPInfo(ByteReader($0)) }
        #expect(oldest.dataSegmentsIn == nil)
        #expect(oldest.receiveSpace == 65_536)
    }

    @Test func truncatedMessagesAreErrorsNotCrashes() throws {
        let bytes = try Fixture.messages("sockdiag/tcp4-established.bin")[0]
        for cut in stride(from: 16, to: 16 + SockDiag.messageSize, by: 7) {
            let payload = Array(bytes[16..<cut])
            #expect(throws: DecodeError.self) { try payload.withUnsafeBytes { try TCPSocketRecord(payload: ByteReader($0)) } }
        }
    }

    /// The `tcp_info` payload of the first message's `INET_DIAG_INFO` attribute.
    static func tcpInfoBytes(_ message: inout [UInt8]) throws -> [UInt8] {
        try message.withUnsafeBytes { raw in
            let payload = try ByteReader(raw).slice(16 + SockDiag.messageSize, raw.count - 16 - SockDiag.messageSize, "attrs")
            var found: [UInt8]?
            try payload.forEachAttribute("attrs") { attribute in
                if attribute.type == SockDiag.attributeInfo { found = attribute.payload.array() }
            }
            return try #require(found)
        }
    }
}
