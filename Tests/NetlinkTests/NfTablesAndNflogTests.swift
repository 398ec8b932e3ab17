import Testing

@testable import Netlink

/// nf_tables requests and nfnetlink_log packets, byte for byte, without the kernel. The same
/// code against the live kernel is in NfTablesPrivilegedTests.
@Suite("nf_tables and nfnetlink_log encoding")
struct NfTablesAndNflogTests {
    /// Decodes the messages in `bytes` with `body`.
    func withMessages<T>(_ bytes: [UInt8], _ body: ([NetlinkMessage]) throws -> T) throws -> T {
        try bytes.withUnsafeBytes { raw in
            var iterator = MessageIterator(raw)
            var messages: [NetlinkMessage] = []
            while let message = try iterator.next() { messages.append(message) }
            return try body(messages)
        }
    }

    @Test func aRuleRequestDecodesBackAsTheSameRule() throws {
        let expressions: [NfTablesExpression] = [
            .meta(key: .transportProtocol, destination: .one), .compare(.equal, source: .one, data: [6]), .counter,
            .limit(rate: 100, unitSeconds: 1, burst: 5), .log(group: 196, snapLength: 128, prefix: "pw"),
        ]
        let bytes = NetlinkRequest.newNfRule(
            family: NfTablesFamily.inet, table: "pathwatch", chain: "c", expressions: expressions, comment: "mine"
        ).finish(sequence: 3)
        let rule = try withMessages(bytes) { try NfTablesRule($0[0]) }
        #expect(rule.family == NfTablesFamily.inet)
        #expect(rule.table == "pathwatch" && rule.chain == "c")
        #expect(rule.comment == "mine")
        #expect(rule.expressionNames == ["meta", "cmp", "counter", "limit", "log"])
        #expect(rule.counterPackets == 0)
        // NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND, and NFT_MSG_NEWRULE.
        #expect(bytes[4] == 0x06 && bytes[5] == 0x0A)
        #expect(UInt16(bytes[6]) | UInt16(bytes[7]) << 8 == 0x0C05)
    }

    @Test func nestsCarryTheNestedFlag() throws {
        let bytes = NetlinkRequest.newNfBaseChain(family: NfTablesFamily.inet, table: "t", name: "c", hook: .preroutingRaw)
            .finish(sequence: 1)
        try withMessages(bytes) { messages in
            let attributes = try messages[0].payload.slice(4, messages[0].payload.count - 4, "chain")
            var hook: (number: UInt32, priority: Int32)?
            var nested = false
            try attributes.forEachAttribute("chain") { a throws(DecodeError) in
                guard a.type == 4 else { return }
                nested = a.isNested
                var number: UInt32 = 0
                var priority: Int32 = 0
                try a.payload.forEachAttribute("hook") { h throws(DecodeError) in
                    if h.type == 1 { number = try h.u32Network("hooknum") }
                    if h.type == 2 { priority = Int32(bitPattern: try h.u32Network("priority")) }
                }
                hook = (number, priority)
            }
            #expect(nested)
            #expect(hook?.number == 0 && hook?.priority == -300)
        }
    }

    @Test func batchMarkersAddressTheNfTablesSubsystem() {
        let begin = NetlinkRequest.nfTablesBatch(NfTablesMessageType.batchBegin).finish(sequence: 9)
        #expect(begin.count == 20)
        #expect(begin[4] == 0x10 && begin[5] == 0)
        #expect(Array(begin[16..<20]) == [0, 0, 0, 10])  // AF_UNSPEC, NFNETLINK_V0, res_id NFNL_SUBSYS_NFTABLES (big endian)
    }

    @Test func commentsRoundTripAndMalformedUserDataIsIgnored() {
        let encoded = NfTablesComment.encode("hello")
        #expect(encoded == [0, 6] + Array("hello".utf8) + [0])
        encoded.withUnsafeBytes { #expect(NfTablesComment.decode(ByteReader($0)) == "hello") }
        let broken: [UInt8] = [0, 200, 65]
        broken.withUnsafeBytes { #expect(NfTablesComment.decode(ByteReader($0)) == nil) }
    }

    @Test func theConntrackSourceFilterNamesAddressPortAndProtocol() throws {
        let request = NetlinkRequest.dumpConntrack(originalSource: IPAddress("10.0.1.10")!, port: 49284, protocolNumber: .tcp)
        let bytes = request.finish(sequence: 1)
        #expect(request.isDump)
        #expect(bytes[16] == 2)  // nfgen_family AF_INET: the kernel refuses a filter without one
        try withMessages(bytes) { messages in
            let attributes = try messages[0].payload.slice(4, messages[0].payload.count - 4, "ct")
            var tuple: FlowTuple?
            var flags: UInt32?
            try attributes.forEachAttribute("ct") { a throws(DecodeError) in
                if a.type == 1 {
                    // Only the source side is set; the decoder insists on both addresses, so
                    // read the pieces directly.
                    try a.payload.forEachAttribute("tuple") { t throws(DecodeError) in
                        if t.type == 1 {
                            try t.payload.forEachAttribute("ip") { ip throws(DecodeError) in
                                #expect(ip.type == 1)
                                tuple = FlowTuple(
                                    source: try IPAddress(networkBytes: ip.payload, "src"), destination: .v4(0), protocolNumber: .tcp)
                            }
                        }
                        if t.type == 2 {
                            try t.payload.forEachAttribute("proto") { p throws(DecodeError) in
                                if p.type == 2 { tuple?.sourcePort = try p.u16Network("sport") }
                            }
                        }
                    }
                }
                if a.type == 25 {
                    try a.payload.forEachAttribute("filter") { f throws(DecodeError) in if f.type == 1 { flags = try f.u32Host("flags") } }
                }
            }
            #expect(tuple?.source == IPAddress("10.0.1.10") && tuple?.sourcePort == 49284)
            #expect(flags == 0b11000, "protocol and source port; the address is compared by the caller")
        }
    }

    // MARK: - nfnetlink_log packets

    /// An `NFULNL_MSG_PACKET` as the kernel builds it, with `payload` as `NFULA_PAYLOAD`.
    static func packetMessage(
        payload: [UInt8], family: UInt8 = 2, hardwareAddress: [UInt8]? = [0x0A, 0x41, 0xB0, 0xE9, 0x07, 0x12],
        claimedHardwareLength: UInt16? = nil
    ) -> [UInt8] {
        var request = NetlinkRequest(type: NflogMessageType.packet, flags: [], familyHeader: [family, 0, 0, 196])
        var attributes = AttributeBuilder()
        attributes.add(1, [0x08, 0x00, 0, 0])  // NFULA_PACKET_HDR: ETH_P_IP, hook PRE_ROUTING
        attributes.add(10, string: "")  // NFULA_PREFIX
        attributes.add(4, network: UInt32(2))  // NFULA_IFINDEX_INDEV
        if let hardwareAddress {
            var hw: [UInt8] = []
            hw.appendNetwork(claimedHardwareLength ?? UInt16(hardwareAddress.count))
            hw += [0, 0] + hardwareAddress + [UInt8](repeating: 0, count: max(0, 8 - hardwareAddress.count))
            attributes.add(8, hw)  // NFULA_HWADDR
        }
        attributes.add(9, payload)  // NFULA_PAYLOAD
        request.addAttributes(attributes)
        return request.finish(sequence: 0)
    }

    static let ipv4Syn: [UInt8] =
        [
            0x45, 0, 0, 60, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0,  // IPv4, 20-byte header, DF, TTL 64, TCP
            10, 0, 1, 10, 10, 0, 1, 10,  // 10.0.1.10 -> 10.0.1.10
            0xC0, 0x84, 0x1F, 0x90,  // 49284 -> 8080
            0, 0, 0, 1, 0, 0, 0, 0, 0xA0, 0x02, 0xFF, 0xFF,  // seq, ack, offset 10, SYN, window
        ] + [UInt8](repeating: 0, count: 24)

    @Test func aLoggedIPv4SynNamesItsEndpointsInterfaceAndSender() throws {
        let packet = try withMessages(Self.packetMessage(payload: Self.ipv4Syn)) { try NflogPacket($0[0]) }
        let p = try #require(packet)
        #expect(p.group == 196 && p.family == .inet && p.hook == 0)
        #expect(p.inputInterface == 2)
        #expect(p.hardwareAddress == [0x0A, 0x41, 0xB0, 0xE9, 0x07, 0x12])
        let header = try #require(p.header)
        #expect(header.source == IPAddress("10.0.1.10") && header.destination == IPAddress("10.0.1.10"))
        #expect(header.sourcePort == 49284 && header.destinationPort == 8080)
        #expect(header.isTCPSyn)
    }

    @Test func anIPv6SynBehindAnExtensionHeaderIsParsed() throws {
        var packet: [UInt8] = [0x60, 0, 0, 0, 0, 28, 0, 64]  // IPv6, payload 28, next header hop-by-hop
        packet += IPAddress("fd00:1::20")!.networkBytes + IPAddress("fd00:1::20")!.networkBytes
        packet += [6, 0, 1, 4, 0, 0, 0, 0]  // hop-by-hop: next TCP, length 0 (8 bytes), PadN
        packet += [0x9C, 0x40, 0x1F, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xFF, 0xFF, 0, 0, 0, 0]
        let header = try packet.withUnsafeBytes { try IPPacketHeader(ByteReader($0)) }
        #expect(header.source == IPAddress("fd00:1::20"))
        #expect(header.protocolNumber == .tcp && header.sourcePort == 40000 && header.destinationPort == 8080)
        #expect(header.isTCPSyn)
    }

    @Test func aSynAckIsNotASyn() throws {
        var synAck = Self.ipv4Syn
        synAck[33] = 0x12
        let header = try synAck.withUnsafeBytes { try IPPacketHeader(ByteReader($0)) }
        #expect(!header.isTCPSyn)
    }

    @Test func truncatedAndForgedPacketsNeverTrap() throws {
        // Every prefix of a valid message, and forged lengths: an error or a packet without a
        // header, never a crash or an out-of-bounds read.
        let whole = Self.packetMessage(payload: Self.ipv4Syn)
        for length in 0..<whole.count {
            var cut = Array(whole[0..<length])
            if cut.count >= 4 { cut.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(length), toByteOffset: 0, as: UInt32.self) } }
            _ = try? withMessages(cut) { messages in try messages.map { try NflogPacket($0) } }
        }
        // A header length pointing past the copied bytes leaves the header out, not the packet.
        var lying = Self.ipv4Syn
        lying[0] = 0x4F  // 60-byte IPv4 header, more than the 20 + 20 copied... and then ports beyond it
        let short = Array(lying[0..<44])
        let packet = try withMessages(Self.packetMessage(payload: short)) { try NflogPacket($0[0]) }
        #expect(packet?.header?.sourcePort == nil)
        // NFULA_HWADDR claiming more than its 8 bytes is an error.
        #expect(throws: DecodeError.self) {
            try withMessages(Self.packetMessage(payload: Self.ipv4Syn, claimedHardwareLength: 9)) { try NflogPacket($0[0]) }
        }
        // Not IP at all.
        let garbage: [UInt8] = [0x10, 1, 2, 3]
        let notIP = try withMessages(Self.packetMessage(payload: garbage)) { try NflogPacket($0[0]) }
        #expect(notIP != nil && notIP?.header == nil)
    }

    @Test func otherNflogMessagesAreNotPackets() throws {
        let config = NetlinkRequest.nflogBind(group: 196, copyRange: 128).finish(sequence: 1)
        #expect(try withMessages(config) { try NflogPacket($0[0]) } == nil)
        // NFULA_CFG_MODE: copy range 128 (big endian), NFULNL_COPY_PACKET.
        #expect(config.count == 16 + 4 + 8 + 12 + 8 + 8)
        #expect(Array(config[32..<38]) == [0, 0, 0, 128, 2, 0])
    }
}
