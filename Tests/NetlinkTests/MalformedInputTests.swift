import Testing

@testable import Netlink

/// Decoders meet truncated, forged and random bytes: each input yields a value or a
/// DecodeError, never a trap. (A trap would end the test process, failing the suite.)
@Suite("Malformed netlink input")
struct MalformedInputTests {
    static let fixtures = [
        "rtnetlink/links.bin", "rtnetlink/addresses.bin", "rtnetlink/routes-ipv4.bin",
        "rtnetlink/routes-ipv6.bin", "rtnetlink/rules-ipv4.bin", "rtnetlink/rules-ipv6.bin", "rtnetlink/events.bin",
        "rtnetlink/neighbours.bin",
    ]

    /// Decodes everything in `bytes`; returns how many messages decoded.
    @discardableResult
    func decodeAll(_ bytes: [UInt8]) -> (decoded: Int, errors: Int) {
        var decoded = 0
        var errors = 0
        bytes.withUnsafeBytes { raw in
            var iterator = MessageIterator(raw)
            while true {
                do {
                    guard let message = try iterator.next() else { break }
                    if (try? RtnetlinkEvent(message)) != nil { decoded += 1 } else { errors += 1 }
                } catch {
                    errors += 1
                    break
                }
            }
        }
        return (decoded, errors)
    }

    @Test(arguments: fixtures)
    func everyTruncationIsAnErrorOrAValue(fixture: String) throws {
        for message in try Fixture.messages(fixture) {
            for length in 0..<message.count {
                decodeAll(Array(message[0..<length]))
            }
        }
    }

    @Test(arguments: fixtures)
    func randomCorruptionNeverTraps(fixture: String) throws {
        var generator = SplitMix64(state: 0x5EED)
        let messages = try Fixture.messages(fixture)
        for _ in 0..<2000 {
            var bytes = messages[Int(generator.next() % UInt64(messages.count))]
            for _ in 0..<(1 + generator.next() % 8) {
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            decodeAll(bytes)
        }
    }

    @Test func aForgedHugeLengthIsRefused() {
        var header: [UInt8] = []
        NetlinkHeader(length: 0xFFFF_FFF0, type: RtnetlinkMessageType.newRoute, flags: [], sequence: 1, portID: 0).encode(into: &header)
        header += [UInt8](repeating: 0, count: 12)
        header.withUnsafeBytes { raw in
            var iterator = MessageIterator(raw)
            #expect(throws: DecodeError.self) { try iterator.next() }
        }
    }

    @Test func anAttributeShorterThanItsHeaderIsRefused() throws {
        var request = NetlinkRequest(type: RtnetlinkMessageType.newRoute, flags: [], familyHeader: [2, 24, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0])
        request.addAttribute(1, [10, 5, 2, 0])
        var bytes = request.finish(sequence: 1)
        bytes[28] = 2  // nla_len below the 4-byte header
        let result = decodeAll(bytes)
        #expect(result.decoded == 0 && result.errors == 1)
    }

    @Test func unknownAttributesAreIgnored() throws {
        var request = NetlinkRequest(type: RtnetlinkMessageType.newRoute, flags: [], familyHeader: [2, 24, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0])
        request.addAttribute(1, [10, 5, 2, 0])
        request.addAttribute(999, [1, 2, 3])
        let bytes = request.finish(sequence: 1)
        let event = try bytes.withUnsafeBytes { raw in
            var iterator = MessageIterator(raw)
            return try RtnetlinkEvent(#require(try iterator.next()))
        }
        #expect(event == .routeAdded(Route(destination: IPPrefix("10.5.2.0/24")!, protocolID: .static)))
    }

    @Test func aWrongSizedAddressIsRefused() {
        var request = NetlinkRequest(type: RtnetlinkMessageType.newRoute, flags: [], familyHeader: [2, 24, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0])
        request.addAttribute(1, [10, 5, 2])
        let result = decodeAll(request.finish(sequence: 1))
        #expect(result.errors == 1)
    }
}
