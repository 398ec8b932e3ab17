import Foundation
import Testing

@testable import PathwatchCore

@Suite("Node condition engine")
struct NodeConditionEngineTests {
    let t0 = ContinuousClock.now
    let wall = Date(timeIntervalSince1970: 1_800_000_000)

    func settings(window: Int = 30) -> NodeConditionEngine.Settings {
        var s = NodeConditionEngine.Settings()
        s.firstWindow = .seconds(window)
        s.heartbeat = .seconds(300)
        s.messageInterval = .seconds(60)
        return s
    }

    func hairpin(_ summary: String = "frontend 10.0.9.9:80 hairpins", key: String = "10.0.9.9:80") -> Finding {
        Finding(kind: .hairpin, key: key, summary: summary, firstSeen: wall)
    }

    func status(_ conditions: [NodeCondition], _ kind: FindingKind) -> String? {
        conditions.first { $0.type == kind.conditionType }?.status
    }

    @Test func conditionTypesAreThePathwatchKindInUpperCamelCase() {
        #expect(
            FindingKind.nodeProblems.map(\.conditionType) == [
                "PathwatchHairpin", "PathwatchSelfSourcedSynDrop", "PathwatchMissingSubnetRoute", "PathwatchPublicPathDegraded",
                "PathwatchPathDegraded",
            ])
        #expect(!FindingKind.peerPathDegraded.isNodeProblem, "one peer's last mile is no condition of the node")
    }

    @Test func anOpenFindingIsTrueAtOnceButNothingIsFalseBeforeTheFirstWindow() {
        var engine = NodeConditionEngine(settings: settings())
        let sent = engine.plan(open: [hairpin()], modelReady: true, now: t0, wall: wall)
        #expect(sent.count == 1)
        #expect(sent[0].type == "PathwatchHairpin")
        #expect(sent[0].status == "True")
        #expect(sent[0].reason == "HairpinFound")
        #expect(sent[0].message == "frontend 10.0.9.9:80 hairpins")
        engine.acknowledge(sent, at: t0)
        #expect(engine.plan(open: [hairpin()], modelReady: true, now: t0 + .seconds(10), wall: wall).isEmpty)
    }

    @Test func afterARestartFalseWaitsForTheModelAndAFullWindowThenCorrectsAStaleTrue() {
        var engine = NodeConditionEngine(settings: settings(window: 30))
        let stale = NodeCondition(
            type: "PathwatchHairpin", status: "True", reason: "HairpinFound", message: "old", lastHeartbeatTime: wall,
            lastTransitionTime: wall.addingTimeInterval(-3600))
        engine.seed([stale])
        #expect(engine.plan(open: [], modelReady: false, now: t0, wall: wall).isEmpty)
        #expect(engine.plan(open: [], modelReady: false, now: t0 + .seconds(100), wall: wall).isEmpty)
        // The window counts from the model being ready, not from start-up.
        #expect(engine.plan(open: [], modelReady: true, now: t0 + .seconds(101), wall: wall).isEmpty)
        #expect(engine.plan(open: [], modelReady: true, now: t0 + .seconds(130), wall: wall).isEmpty)
        let sent = engine.plan(open: [], modelReady: true, now: t0 + .seconds(131), wall: wall)
        #expect(sent.count == FindingKind.nodeProblems.count)
        #expect(sent.allSatisfy { $0.status == "False" })
        let corrected = sent.first { $0.type == "PathwatchHairpin" }
        #expect(corrected?.reason == "NoHairpin")
        #expect(corrected?.lastTransitionTime == wall)
    }

    @Test func clearingIsSentAtOnceAndTransitionTimeMovesOnlyOnAStatusChange() {
        var engine = NodeConditionEngine(settings: settings(window: 0))
        let opened = engine.plan(open: [hairpin()], modelReady: true, now: t0, wall: wall)
        engine.acknowledge(opened, at: t0)
        #expect(status(opened, .hairpin) == "True")
        #expect(status(opened, .missingSubnetRoute) == "False")
        let later = wall.addingTimeInterval(400)
        let heartbeat = engine.plan(open: [hairpin()], modelReady: true, now: t0 + .seconds(400), wall: later)
        #expect(heartbeat.first { $0.type == "PathwatchHairpin" }?.lastTransitionTime == wall)
        #expect(heartbeat.first { $0.type == "PathwatchHairpin" }?.lastHeartbeatTime == later)
        engine.acknowledge(heartbeat, at: t0 + .seconds(400))
        let cleared = engine.plan(open: [], modelReady: true, now: t0 + .seconds(401), wall: later.addingTimeInterval(1))
        #expect(status(cleared, .hairpin) == "False")
        #expect(cleared.first { $0.type == "PathwatchHairpin" }?.lastTransitionTime == later.addingTimeInterval(1))
        #expect(cleared.first { $0.type == "PathwatchMissingSubnetRoute" }?.lastTransitionTime == wall)
    }

    @Test func aSeededConditionWithTheSameStatusKeepsItsTransitionTime() {
        var engine = NodeConditionEngine(settings: settings(window: 0))
        let before = wall.addingTimeInterval(-86_400)
        engine.seed([
            NodeCondition(
                type: "PathwatchHairpin", status: "False", reason: "NoHairpin", message: "x", lastHeartbeatTime: before,
                lastTransitionTime: before),
            NodeCondition(
                type: "Ready", status: "True", reason: "KubeletReady", message: "", lastHeartbeatTime: wall, lastTransitionTime: wall),
        ])
        let sent = engine.plan(open: [], modelReady: true, now: t0, wall: wall)
        #expect(sent.first { $0.type == "PathwatchHairpin" }?.lastTransitionTime == before)
        #expect(!sent.contains { $0.type == "Ready" })
    }

    @Test func messageChangesAndHeartbeatsAreRateLimited() {
        var engine = NodeConditionEngine(settings: settings(window: 0))
        var sent = engine.plan(open: [hairpin("1 flow")], modelReady: true, now: t0, wall: wall)
        engine.acknowledge(sent, at: t0)
        #expect(engine.plan(open: [hairpin("2 flows")], modelReady: true, now: t0 + .seconds(30), wall: wall).isEmpty)
        sent = engine.plan(open: [hairpin("3 flows")], modelReady: true, now: t0 + .seconds(60), wall: wall)
        #expect(sent.first { $0.type == "PathwatchHairpin" }?.message == "3 flows")
        engine.acknowledge(sent, at: t0 + .seconds(60))
        #expect(engine.plan(open: [hairpin("3 flows")], modelReady: true, now: t0 + .seconds(359), wall: wall).isEmpty)
        #expect(!engine.plan(open: [hairpin("3 flows")], modelReady: true, now: t0 + .seconds(360), wall: wall).isEmpty)
    }

    @Test func anUnacknowledgedPatchIsPlannedAgain() {
        var engine = NodeConditionEngine(settings: settings(window: 0))
        #expect(!engine.plan(open: [hairpin()], modelReady: true, now: t0, wall: wall).isEmpty)
        #expect(!engine.plan(open: [hairpin()], modelReady: true, now: t0 + .seconds(1), wall: wall).isEmpty)
    }

    @Test func severalFindingsOfAKindAreOneConditionWithABoundedMessage() {
        var engine = NodeConditionEngine(settings: settings(window: 0))
        let long = String(repeating: "é", count: 2000)
        let sent = engine.plan(
            open: [hairpin(long), hairpin("second", key: "10.0.9.8:443")], modelReady: true, now: t0, wall: wall)
        let message = sent.first { $0.type == "PathwatchHairpin" }?.message ?? ""
        #expect(message.utf8.count <= NodeConditionEngine.maxMessageBytes)
        #expect(message.hasSuffix("... (and 1 more)"))
    }

    @Test func thePatchIsAStrategicMergeOfOurConditionsOnly() throws {
        let condition = NodeCondition(
            type: "PathwatchHairpin", status: "True", reason: "HairpinFound", message: "m", lastHeartbeatTime: wall,
            lastTransitionTime: wall)
        let json = String(decoding: NodeConditionPatch(conditions: [condition]).json(), as: UTF8.self)
        #expect(
            json
                == #"{"status":{"conditions":[{"lastHeartbeatTime":"2027-01-15T08:00:00Z","lastTransitionTime":"2027-01-15T08:00:00Z","message":"m","reason":"HairpinFound","status":"True","type":"PathwatchHairpin"}]}}"#
        )
        #expect(NodeConditionPatch.contentType == "application/strategic-merge-patch+json")
    }
}
