import Netlink
import Testing

/// A small deterministic generator, so a failing mutation can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Mutated and truncated copies of the recorded fixtures decode to a value or a `DecodeError`,
/// never a trap.
///
/// libnetfilter_conntrack cannot take arbitrary mutations in-process: when a known attribute
/// fails `mnl_attr_validate` it calls `__abi_breakage()`, which prints "ctnetlink kernel ABI is
/// broken" and `exit(EXIT_FAILURE)`s (parse_mnl.c in 1.0.9). So it gets two safe kinds of
/// mutation: forged `nlmsg_len` values (after Swift framed the message, as the agent must do
/// before any libmnl call), and changed attribute *values* with the structure intact, where the
/// two decoders must also agree.
@Suite struct ConntrackRobustnessTests {
    static let iterations = 4000

    /// Any bytes: flips, truncation, hostile lengths, flag toggles, trailing garbage.
    static func mutate(_ original: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = original
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !bytes.isEmpty else { break }
            switch Int.random(in: 0..<6, using: &rng) {
            case 0:  // Any byte to any value.
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = .random(in: 0...255, using: &rng)
            case 1:  // Truncate.
                bytes.removeLast(Int.random(in: 0..<bytes.count, using: &rng))
            case 2, 3:  // A length-like u16 (attribute or nlmsg length) to a small or hostile value.
                let at = Int.random(in: 0..<bytes.count, using: &rng) & ~1
                guard at + 1 < bytes.count else { continue }
                let value: UInt16 = [0, 1, 3, 4, 5, 8, 0xFFFF, .random(in: 0...64, using: &rng)].randomElement(using: &rng)!
                bytes[at] = UInt8(truncatingIfNeeded: value)
                bytes[at + 1] = UInt8(truncatingIfNeeded: value >> 8)
            case 4:  // Toggle NLA_F_NESTED / NLA_F_NET_BYTEORDER on a type field.
                let at = (Int.random(in: 0..<bytes.count, using: &rng) & ~3) + 3
                if at < bytes.count { bytes[at] ^= [0x80, 0x40].randomElement(using: &rng)! }
            default:  // Trailing garbage.
                bytes += (0..<Int.random(in: 1...24, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
        }
        return bytes
    }

    @Test func arbitraryMutationsGiveAValueOrADecodeError() throws {
        let fixtures = try ConntrackFixture.allCases.map { try $0.bytes }
        var rng = SplitMix64(state: 0x7061_7468_7761_7463)  // "pathwatc"
        var decoded = 0
        var rejected = 0
        for _ in 0..<Self.iterations {
            let bytes = Self.mutate(fixtures.randomElement(using: &rng)!, &rng)
            bytes.withUnsafeBytes { raw in
                var iterator = MessageIterator(raw)
                while true {
                    let message: NetlinkMessage?
                    do throws(DecodeError) {
                        message = try iterator.next()
                    } catch {
                        Self.check(error, within: raw.count)
                        rejected += 1
                        break
                    }
                    guard let message else { break }
                    for result in Self.decodeAll(message) {
                        switch result {
                        case .success: decoded += 1
                        case .failure(let error):
                            Self.check(error, within: raw.count)
                            rejected += 1
                        }
                    }
                }
            }
        }
        // The mutations must exercise both outcomes, or the test proves nothing.
        #expect(decoded > 1000)
        #expect(rejected > 1000)
    }

    @Test func forgedMessageLengthsAreCaughtBeforeLibmnl() throws {
        let messages = try ConntrackFixture.flowFixtures.flatMap { try $0.messages }
        var rng = SplitMix64(state: 42)
        var framed = 0
        var refused = 0
        for _ in 0..<Self.iterations {
            var bytes = messages.randomElement(using: &rng)!
            let length: UInt32 = [0, 15, 16, 19, 20, 0xFFFF_FFFF, 0x7FFF_FFFF, .random(in: 0...UInt32(bytes.count + 64), using: &rng)]
                .randomElement(using: &rng)!
            withUnsafeBytes(of: length) { bytes.replaceSubrange(0..<4, with: $0) }
            bytes.withUnsafeBytes { raw in
                var iterator = MessageIterator(raw)
                do throws(DecodeError) {
                    guard let message = try iterator.next() else { return }
                    framed += 1
                    _ = Self.decodeAll(message)
                    _ = libnfctDecode(message)  // Only ever sees a length Swift checked.
                } catch {
                    Self.check(error, within: raw.count)
                    refused += 1
                }
            }
        }
        #expect(framed > 100)
        #expect(refused > 100)
    }

    @Test(arguments: ConntrackFixture.flowFixtures)
    func mutatedValuesDecodeTheSameInSwiftAndLibnetfilterConntrack(_ fixture: ConntrackFixture) throws {
        var rng = SplitMix64(state: UInt64(fixture.rawValue.utf8.count) &* 7919)
        let messages = try fixture.messages.filter { $0.count > 20 }
        for _ in 0..<(Self.iterations / 4) {
            var bytes = messages.randomElement(using: &rng)!
            let leaves = leafPayloadRanges(bytes)
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let range = leaves.randomElement(using: &rng)!
                guard !range.isEmpty else { continue }
                bytes[Int.random(in: range, using: &rng)] = .random(in: 0...255, using: &rng)
            }
            try withMessage(bytes) { message in
                let swift = LibnfctFlow(try ConntrackFlow(message))
                let c = try #require(libnfctDecode(message))
                #expect(swift == c)
            }
        }
    }

    /// Every decoder that could see this message, each on its own.
    static func decodeAll(_ message: NetlinkMessage) -> [Result<Void, DecodeError>] {
        [
            Result { () throws(DecodeError) in _ = try ConntrackEvent(message) },
            Result { () throws(DecodeError) in _ = try ConntrackFlow(payload: message.payload) },
            Result { () throws(DecodeError) in _ = try ConntrackCPUStatistics(message) },
            Result { () throws(DecodeError) in _ = try ConntrackGlobalStatistics(message) },
        ]
    }

    static func check(_ error: DecodeError, within count: Int) {
        if let offset = error.offset {
            // An offset names a place in (or just past the end of) the buffer, never garbage.
            #expect(offset >= 0 && offset <= count + 16, "\(error)")
        }
        #expect(!error.context.isEmpty)
    }
}

/// The byte ranges of every non-nested attribute payload of a well-formed ctnetlink message
/// (the kernel sets `NLA_F_NESTED` on every nest).
func leafPayloadRanges(_ bytes: [UInt8]) -> [Range<Int>] {
    func walk(_ start: Int, _ end: Int, into ranges: inout [Range<Int>]) {
        var offset = start
        while offset + 4 <= end {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            guard length >= 4, offset + length <= end else { return }
            if bytes[offset + 3] & 0x80 != 0 {
                walk(offset + 4, offset + length, into: &ranges)
            } else {
                ranges.append((offset + 4)..<(offset + length))
            }
            offset += (length + 3) & ~3
        }
    }
    var ranges: [Range<Int>] = []
    walk(20, bytes.count, into: &ranges)
    return ranges
}
