import Foundation
import Testing

@testable import PathwatchCore

@Suite("Node event planner")
struct NodeEventPlannerTests {
    let t0 = ContinuousClock.now
    let wall = Date(timeIntervalSince1970: 1_800_000_000)

    func finding(_ kind: FindingKind = .hairpin, key: String = "10.0.9.9:80", repairState: String? = nil) -> Finding {
        let evidence: [String: JSONValue] = repairState.map { ["repairState": .string($0)] } ?? [:]
        return Finding(kind: kind, key: key, summary: "\(kind.rawValue) \(key)", evidence: evidence, firstSeen: wall)
    }

    @Test func aFindingOpeningIsAWarningAndClosingANormalEvent() {
        var planner = NodeEventPlanner(settings: .init())
        let opened = planner.plan(open: [finding()], now: t0)
        #expect(
            opened == [
                NodeEvent(
                    severity: .warning, reason: "HairpinFound", message: "hairpin 10.0.9.9:80", subject: "hairpin 10.0.9.9:80", count: 1)
            ])
        #expect(planner.plan(open: [finding()], now: t0 + .seconds(1)).isEmpty)
        let closed = planner.plan(open: [], now: t0 + .seconds(2))
        #expect(closed.map(\.severity) == [.normal])
        #expect(closed.map(\.reason) == ["HairpinCleared"])
    }

    @Test func repairsInstalledFailedAndFlappingAreEventsOnce() {
        var planner = NodeEventPlanner(settings: .init())
        let key = "net1 10.5.2.0/24"
        #expect(
            planner.plan(open: [finding(.missingSubnetRoute, key: key, repairState: "dry-run")], now: t0).map(\.reason) == [
                "MissingSubnetRouteFound"
            ])
        #expect(
            planner.plan(open: [finding(.missingSubnetRoute, key: key, repairState: "failed: EPERM")], now: t0 + .seconds(1)).map(\.reason)
                == ["RepairFailed"])
        #expect(planner.plan(open: [finding(.missingSubnetRoute, key: key, repairState: "failed: EPERM")], now: t0 + .seconds(2)).isEmpty)
        #expect(
            planner.plan(open: [finding(.missingSubnetRoute, key: key, repairState: "repaired")], now: t0 + .seconds(3)).map(\.reason) == [
                "RepairInstalled"
            ])
        let flapping = planner.plan(open: [finding(.missingSubnetRoute, key: key, repairState: "flapping")], now: t0 + .seconds(4))
        #expect(flapping.map(\.reason) == ["RepairFlapping"])
        #expect(flapping.map(\.severity) == [.warning])
    }

    @Test func aFlappingFindingCannotFloodTheAPI() {
        var planner = NodeEventPlanner(settings: .init())
        var sent: [NodeEvent] = []
        for second in 0..<600 {
            sent += planner.plan(open: second % 2 == 0 ? [finding()] : [], now: t0 + .seconds(second))
        }
        // One opened and one cleared per 10 minutes for this finding.
        #expect(sent.map(\.reason) == ["HairpinFound", "HairpinCleared"])
        sent = planner.plan(open: [finding()], now: t0 + .seconds(600))
        #expect(sent.map(\.reason) == ["HairpinFound"])
        #expect(sent.first?.count == 300)
    }

    @Test func manyFindingsShareATokenBucket() {
        var planner = NodeEventPlanner(settings: .init())
        let many = (0..<50).map { finding(key: "10.0.9.\($0):80") }
        #expect(planner.plan(open: many, now: t0).count == 10)
        #expect(planner.suppressedCount == 40)
        #expect(planner.plan(open: many, now: t0 + .seconds(29)).isEmpty)
        #expect(planner.plan(open: many + [finding(key: "10.0.8.1:80")], now: t0 + .seconds(30)).count == 1)
    }

    @Test func theEventObjectIsAboutTheNode() {
        let event = NodeEvent(severity: .warning, reason: "HairpinFound", message: "m", subject: "hairpin x", count: 2)
        let object = NodeEventObject(event, node: "node-1", uid: "u-1", at: wall)
        let json = String(decoding: object.json(), as: UTF8.self)
        #expect(json.contains(#""involvedObject":{"apiVersion":"v1","kind":"Node","name":"node-1","uid":"u-1"}"#))
        #expect(json.contains(#""type":"Warning""#))
        #expect(json.contains(#""count":2"#))
        #expect(json.contains(#""metadata":{"generateName":"node-1.pathwatch-","namespace":"default"}"#))
    }
}
