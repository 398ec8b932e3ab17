import Foundation
import Netlink

/// Byte fixtures recorded from the kernel by `scripts/record-conntrack-fixtures`; see
/// `Fixtures/conntrack/README.md`. Each file holds whole netlink messages back to back.
enum ConntrackFixture: String, CaseIterable {
    case tcp4 = "events-tcp4.bin"
    case tcp6 = "events-tcp6.bin"
    case udp4 = "events-udp4.bin"
    case icmp4 = "events-icmp4.bin"
    case dump = "dump-flows.bin"
    case statsCPU = "stats-cpu.bin"
    case statsGlobal = "stats-global.bin"

    static let flowFixtures: [ConntrackFixture] = [.tcp4, .tcp6, .udp4, .icmp4, .dump]

    var bytes: [UInt8] {
        get throws {
            guard let directory = Bundle.module.resourceURL else {
                throw FixtureError(reason: "test bundle has no resource directory")
            }
            let url = directory.appendingPathComponent("Fixtures/conntrack/\(rawValue)")
            return [UInt8](try Data(contentsOf: url))
        }
    }

    /// Each message of the fixture as its own byte array, split by `nlmsg_len`.
    var messages: [[UInt8]] {
        get throws { try splitMessages(bytes) }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Splits a message stream into single messages, validating every length in Swift.
func splitMessages(_ bytes: [UInt8]) throws -> [[UInt8]] {
    try bytes.withUnsafeBytes { raw in
        var result: [[UInt8]] = []
        try forEachMessage(in: raw) { message in
            result.append(message.whole.array())
        }
        return result
    }
}

/// Runs `body` on the single message in `bytes`.
func withMessage<T>(_ bytes: [UInt8], _ body: (NetlinkMessage) throws -> T) throws -> T {
    try bytes.withUnsafeBytes { raw in
        var iterator = MessageIterator(raw)
        guard let message = try iterator.next() else { throw FixtureError(reason: "no message in \(bytes.count) bytes") }
        return try body(message)
    }
}

/// Decodes every flow message (`IPCTNL_MSG_CT_NEW`/`_DELETE`) of a fixture as an event.
func events(_ fixture: ConntrackFixture) throws -> [ConntrackEvent] {
    try fixture.messages.compactMap { bytes in try withMessage(bytes) { try ConntrackEvent($0) } }
}

/// Builds netlink messages and attributes for synthetic tests.
struct MessageBuilder {
    var bytes: [UInt8] = []

    static func message(type: UInt16, flags: NetlinkFlags = [], sequence: UInt32 = 0, body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        NetlinkHeader(length: UInt32(16 + body.count), type: type, flags: flags, sequence: sequence, portID: 0).encode(into: &out)
        return out + body
    }

    static func attribute(_ type: UInt16, nested: Bool = false, _ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.appendHost(UInt16(4 + payload.count))
        out.appendHost(type | (nested ? 0x8000 : 0))
        out += payload
        out.alignTo4()
        return out
    }

    static func network<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        var out: [UInt8] = []
        out.appendNetwork(value)
        return out
    }
}
