import Foundation
import Logging
import Netlink
import PathwatchCore
import Testing

@testable import PathwatchAgent

/// The `/findings` JSON of the two hairpin kinds for known inputs, against a committed golden
/// file: the contract that the typed evidence and the remediation catalog must keep to the byte.
@Suite("Hairpin findings golden")
struct HairpinFindingsGoldenTests {
    static let goldenFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden/findings-hairpin.json")
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    static func flow(_ id: UInt32, _ source: String, _ sport: UInt16, _ destination: String, _ dport: UInt16, status: ConntrackStatus = [])
        -> ConntrackFlow
    {
        let s = IPAddress(source)!
        let d = IPAddress(destination)!
        return ConntrackFlow(
            family: s.family, id: id,
            original: FlowTuple(source: s, destination: d, protocolNumber: .tcp, sourcePort: sport, destinationPort: dport),
            reply: FlowTuple(source: d, destination: s, protocolNumber: .tcp, sourcePort: dport, destinationPort: sport), status: status)
    }

    static func syn(_ source: String, _ sport: UInt16, _ destination: String, _ dport: UInt16) -> NflogPacket {
        NflogPacket(
            family: .inet, group: 196, inputInterface: 2, hardwareAddress: [2, 0, 0, 0, 0, 1],
            header: IPPacketHeader(
                source: IPAddress(source)!, destination: IPAddress(destination)!, protocolNumber: .tcp, sourcePort: sport,
                destinationPort: dport, tcpFlags: 0x02))
    }

    /// Every finding the two slices raise, from one scripted run.
    static func served() throws -> String {
        let findings = FindingsRegistry()
        try GoldenHairpinScript.run(findings: findings, t0: t0)
        return String(decoding: findings.json(), as: UTF8.self)
    }

    @Test func theFindingsMatchTheGoldenFile() throws {
        let served = try Self.served()
        if ProcessInfo.processInfo.environment["PATHWATCH_REGENERATE_GOLDEN"] == "1" {
            try served.write(to: Self.goldenFile, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: Self.goldenFile, encoding: .utf8)
        #expect(served == golden, "regenerate with PATHWATCH_REGENERATE_GOLDEN=1 only if the contract change is intended")
    }
}
