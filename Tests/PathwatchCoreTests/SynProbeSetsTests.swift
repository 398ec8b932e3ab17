import Netlink
import Testing

@testable import PathwatchCore

/// The probe's set messages, byte for byte: an interval set (not an anonymous one, which the
/// kernel lets only one rule use), start and end elements, chunks, and deletions first.
@Suite("Probe sets encoding")
struct SynProbeSetsTests {
    /// (attribute type, payload) of the top-level attributes of one request.
    func attributes(_ request: NetlinkRequest) throws -> [(UInt16, [UInt8])] {
        try request.finish(sequence: 1).withUnsafeBytes { raw in
            var iterator = MessageIterator(raw)
            let message = try #require(try iterator.next())
            let p = message.payload
            var out: [(UInt16, [UInt8])] = []
            try p.slice(4, p.count - 4, "set").forEachAttribute("set") { a throws(DecodeError) in
                out.append((a.type, Array(a.payload.bytes)))
            }
            return out
        }
    }

    @Test func theSetsAreIntervalSetsOfAddresses() throws {
        let local4 = try attributes(.newNfAddressSet(family: NfTablesFamily.inet, table: "pathwatch", set: SynProbeRule.localSets[0]))
        #expect(local4.first { $0.0 == 3 }?.1 == [0, 0, 0, 4], "NFT_SET_INTERVAL (0x4), not NFT_SET_ANONYMOUS (0x1)")
        #expect(local4.first { $0.0 == 4 }?.1 == [0, 0, 0, 7], "ipv4_addr")
        #expect(local4.first { $0.0 == 5 }?.1 == [0, 0, 0, 4], "4-byte keys")
        let local6 = try attributes(.newNfAddressSet(family: NfTablesFamily.inet, table: "pathwatch", set: SynProbeRule.localSets[1]))
        #expect(local6.first { $0.0 == 4 }?.1 == [0, 0, 0, 8] && local6.first { $0.0 == 5 }?.1 == [0, 0, 0, 16])
    }

    @Test func rangesBecomeStartAndEndElementsPerFamilyInChunks() throws {
        let ranges = [
            AddressRange(first: IPAddress("10.0.1.20")!, last: IPAddress("10.0.1.21")!),
            AddressRange(first: IPAddress("255.255.255.255")!, last: IPAddress("255.255.255.255")!),
            AddressRange(IPAddress("fd00:1::20")!),
        ]
        let messages = SynProbeRule.setElementMessages(ranges, add: true)
        #expect(messages.count == 2, "one per family")
        let bytes = messages[0].finish(sequence: 1)
        #expect(bytes[4] == 0x0C && bytes[5] == 0x0A, "NFT_MSG_NEWSETELEM")
        // 10.0.1.20, end 10.0.1.22 (flagged), 255.255.255.255 without an end element.
        let v4 = try attributes(messages[0])
        let list = try #require(v4.first { $0.0 == 3 }?.1)
        let text = list.map { String($0) }.joined(separator: ".")
        #expect(text.contains("10.0.1.20") && text.contains("10.0.1.22") && text.contains("255.255.255.255"))
        #expect(list.count(where: { $0 == 0x01 }) >= 1)
        let many = (0..<300).map { AddressRange(IPAddress.v4(0x0A00_0000 + UInt32($0) * 4)) }
        #expect(SynProbeRule.setElementMessages(many, add: true).count == 3, "600 elements, 256 a message")
        let change = SynProbeRule.setChangeMessages(.init(remove: [ranges[0]], add: [ranges[2]]))
        #expect(change.map { $0.finish(sequence: 1)[4] } == [0x0E, 0x0C], "deletions first")
        #expect(SynProbeRule.setRefillMessages([]).count == 2, "a flush of each set, nothing to add")
    }
}
