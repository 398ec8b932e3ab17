import Foundation
import Testing

@testable import PathwatchCore

@Suite("Findings registry")
struct FindingsRegistryTests {
    @Test func anEmptyRegistrySerializesAsTheContractSays() {
        #expect(String(decoding: FindingsRegistry().json(), as: UTF8.self) == #"{"findings":[]}"#)
    }

    @Test func reportsOfOneKeyUpdateOneFinding() throws {
        let registry = FindingsRegistry()
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(
            registry.report(
                kind: .hairpin, key: "10.0.9.9:80", summary: "s1", evidence: ["frontend": .string("10.0.9.9:80")], remediation: [:], at: t0)
        )
        #expect(
            !registry.report(
                kind: .hairpin, key: "10.0.9.9:80", summary: "s2", evidence: [:], remediation: [:], at: t0.addingTimeInterval(5),
                occurrences: 2))
        let findings = registry.snapshot()
        #expect(findings.count == 1)
        #expect(findings[0].count == 3)
        #expect(findings[0].summary == "s2")
        #expect(findings[0].lastSeen == t0.addingTimeInterval(5))
        let json = try JSONSerialization.jsonObject(with: Data(registry.json())) as? [String: Any]
        let first = try #require((json?["findings"] as? [[String: Any]])?.first)
        for key in ["kind", "summary", "evidence", "remediation", "firstSeen", "lastSeen", "count"] {
            #expect(first[key] != nil, "contract field \(key)")
        }
        #expect(first["kind"] as? String == "hairpin")
        #expect(first["firstSeen"] as? String == "2023-11-14T22:13:20Z")
    }

    @Test func expiryClosesOnlyQuietFindings() {
        let registry = FindingsRegistry()
        let t0 = Date(timeIntervalSince1970: 0)
        registry.report(kind: .hairpin, key: "a", summary: "", evidence: [:], remediation: [:], at: t0)
        registry.report(kind: .hairpin, key: "b", summary: "", evidence: [:], remediation: [:], at: t0.addingTimeInterval(100))
        registry.report(kind: .missingSubnetRoute, key: "c", summary: "", evidence: [:], remediation: [:], at: t0)
        let closed = registry.expire(kind: .hairpin, lastSeenBefore: t0.addingTimeInterval(50))
        #expect(closed.map(\.key) == ["a"])
        #expect(registry.snapshot().map(\.key).sorted() == ["b", "c"])
        #expect(registry.clear(kind: .missingSubnetRoute, key: "c") != nil)
    }
}
