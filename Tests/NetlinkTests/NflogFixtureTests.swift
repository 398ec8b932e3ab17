import Testing

@testable import Netlink

/// Decoding of nfnetlink_log packets and an nf_tables rule dump recorded from this kernel by
/// scripts/record-nflog-fixtures (the rule and the packets are described in
/// Fixtures/nflog/README.md): what `nft` built, read back by pathwatch's decoders.
@Suite("nflog and nf_tables fixtures")
struct NflogFixtureTests {
    static func decode<T>(_ name: String, _ body: (NetlinkMessage) throws -> T) throws -> [T] {
        try Fixture.messages(name).map { bytes in
            try bytes.withUnsafeBytes { raw in
                var iterator = MessageIterator(raw)
                return try body(try #require(try iterator.next()))
            }
        }
    }

    @Test(arguments: [("nflog/packet-syn4.bin", "10.0.1.10", AddressFamily.inet), ("nflog/packet-syn6.bin", "fd00:1::10", .inet6)])
    func aRecordedSelfSourcedSyn(file: String, address: String, family: AddressFamily) throws {
        let packets = try Self.decode(file) { try NflogPacket($0) }
        let packet = try #require(packets.first ?? nil)
        #expect(packets.count == 1)
        #expect(packet.group == 196)
        #expect(packet.family == family)
        #expect(packet.hook == 0, "NF_INET_PRE_ROUTING")
        #expect(packet.inputInterface != nil && packet.inputInterface != 1, "came in on the veth, not lo")
        #expect(packet.hardwareAddress?.count == 6, "the sender's MAC")
        let header = try #require(packet.header)
        #expect(header.source == IPAddress(address) && header.destination == IPAddress(address))
        #expect(header.sourcePort == 40000 && header.destinationPort == 8080)
        #expect(header.isTCPSyn)
    }

    /// The probe rule exactly as DESIGN.md writes it, built by `nft`: the same expression
    /// sequence the agent installs (SynProbeRule), and a dump the decoder reads fully.
    @Test func theDesignBriefsRuleAsNftBuildsIt() throws {
        let rules = try Self.decode("nflog/rules-probe.bin") { try NfTablesRule($0) }
        let rule = try #require(rules.first)
        #expect(rules.count == 1)
        #expect(rule.family == NfTablesFamily.inet)
        #expect(rule.table == "pathwatch" && rule.chain == "selfsourced_syn")
        #expect(rule.handle != nil)
        #expect(rule.comment == "recorded by scripts/record-nflog-fixtures")
        #expect(
            rule.expressionNames == ["meta", "cmp", "meta", "cmp", "payload", "bitwise", "cmp", "fib", "cmp", "counter", "limit", "log"])
        #expect(rule.counterPackets == 2, "the two recorded SYNs")
    }
}
