import Testing

@testable import PathwatchCore

@Suite("Path sample: a silent namespace's sockets are replayed, not walked again")
struct QuietSocketSampleTests {
    @Test func segmentTotalsComeFromTheTcpLineOfSnmp() {
        #expect(TCPSegmentTotals(snmp: RecordedProcNet.snmp) == TCPSegmentTotals(received: 21975, sent: 21440))
        #expect(TCPSegmentTotals(snmp: "") == nil)
        #expect(TCPSegmentTotals(snmp: "Tcp: InSegs\nTcp: 12\n") == nil, "OutSegs missing: no totals, every sample walks")
        #expect(TCPSegmentTotals(snmp: "Tcp: InSegs OutSegs\nTcp: 12 x\n") == nil)
    }

    @Test func aCompleteSmallWalkIsReplayedWhileTheTotalsStandStill() {
        var quiet = QuietSocketSample<Int>(limit: 4)
        let totals = TCPSegmentTotals(received: 10, sent: 20)
        #expect(quiet.replay(at: totals) == nil, "nothing walked yet")
        quiet.beginWalk()
        for socket in [1, 2, 3] { quiet.walked(socket) }
        quiet.completeWalk(totals: totals)
        #expect(quiet.replay(at: totals) == [1, 2, 3])
        #expect(quiet.replay(at: TCPSegmentTotals(received: 11, sent: 20)) == nil, "a segment came in")
        #expect(quiet.replay(at: TCPSegmentTotals(received: 10, sent: 21)) == nil, "a segment went out")
        #expect(quiet.replay(at: nil) == nil, "unreadable totals")
    }

    @Test func anEmptyNamespaceReplaysNoSockets() {
        var quiet = QuietSocketSample<Int>()
        quiet.beginWalk()
        quiet.completeWalk(totals: TCPSegmentTotals(received: 0, sent: 0))
        #expect(quiet.replay(at: TCPSegmentTotals(received: 0, sent: 0)) == [])
    }

    @Test func aWalkOverTheLimitIsNotKept() {
        var quiet = QuietSocketSample<Int>(limit: 2)
        let totals = TCPSegmentTotals(received: 1, sent: 1)
        quiet.beginWalk()
        for socket in [1, 2, 3] { quiet.walked(socket) }
        quiet.completeWalk(totals: totals)
        #expect(quiet.replay(at: totals) == nil, "a busy namespace is walked every sample")
    }

    @Test func aWalkThatDidNotCompleteForgetsTheLastOne() {
        var quiet = QuietSocketSample<Int>()
        let totals = TCPSegmentTotals(received: 1, sent: 1)
        quiet.beginWalk()
        quiet.walked(1)
        quiet.completeWalk(totals: totals)
        quiet.beginWalk()
        quiet.walked(2)  // the dump failed here: completeWalk never called
        #expect(quiet.replay(at: totals) == nil)
        quiet.completeWalk(totals: nil)
        #expect(quiet.replay(at: totals) == nil, "a walk with undecodable rows is not kept")
    }
}
