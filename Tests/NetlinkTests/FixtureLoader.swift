import Foundation
import Netlink

/// Reads a recorded fixture (see Fixtures/*/README.md for how each was recorded).
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// Every message in the fixture, each as its own byte array.
    static func messages(_ name: String) throws -> [[UInt8]] {
        let all = try bytes(name)
        var result: [[UInt8]] = []
        try all.withUnsafeBytes { raw in
            try forEachMessage(in: raw) { message in result.append(message.whole.array()) }
        }
        return result
    }

    /// Decodes every message of a fixture into rtnetlink events.
    static func events(_ name: String) throws -> [RtnetlinkEvent] {
        try messages(name).compactMap { bytes in
            try bytes.withUnsafeBytes { raw -> RtnetlinkEvent? in
                var iterator = MessageIterator(raw)
                guard let message = try iterator.next() else { return nil }
                return try RtnetlinkEvent(message)
            }
        }
    }
}
