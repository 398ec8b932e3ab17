import Testing

@testable import PathwatchCore

@Suite("Control socket protocol")
struct ControlRequestTests {
    @Test(arguments: [
        ("autofix on", ControlRequest.setAutofix(.on)), ("autofix dry-run\r", .setAutofix(.dryRun)), ("autofix off", .setAutofix(.off)),
        ("status", .status),
    ])
    func validRequests(text: String, expected: ControlRequest) throws {
        #expect(try ControlRequest.parse(Array(text.utf8)).get() == expected)
    }

    @Test(arguments: ["", "autofix", "autofix maybe", "autofix on now", "reboot", "status please", "AUTOFIX ON"])
    func invalidRequestsAreRefusedWithAReason(text: String) {
        guard case .failure(let error) = ControlRequest.parse(Array(text.utf8)) else {
            Issue.record("accepted \(text)")
            return
        }
        #expect(!error.message.isEmpty)
    }

    @Test func bytesThatAreNotTextOrTooLongAreRefused() {
        #expect(throws: ControlError.self) { try ControlRequest.parse([0xFF, 0xFE, 0x00]).get() }
        #expect(throws: ControlError.self) { try ControlRequest.parse([UInt8](repeating: 0x61, count: 257)).get() }
    }

    /// Found by ControlFuzzer (Fuzz/Seeds/ControlFuzzer/autofix-dry-run-crlf): split as Characters,
    /// CR LF stayed inside the word, and the refusal echoed it, line feed and all.
    @Test func wordsAreSplitOnBytes() throws {
        #expect(try ControlRequest.parse(Array("autofix dry-run\r\n".utf8)).get() == .setAutofix(.dryRun))
        #expect(try ControlRequest.parse(Array("status\r\n".utf8)).get() == .status)
    }

    /// Found by ControlFuzzer (Fuzz/Seeds/ControlFuzzer/autofix-c1-control): Swift's
    /// `debugDescription` leaves C1 controls such as U+008A unescaped.
    @Test(arguments: ["autofix \u{1B}[2Jon\r", "autofix \u{8A}", "autofix o\u{202E}n", "autofix \"\\\u{7F}"])
    func anUnknownModeIsEchoedAsPrintableASCII(line: String) throws {
        guard case .failure(let error) = ControlRequest.parse(Array(line.utf8)) else {
            Issue.record("accepted an unknown mode")
            return
        }
        #expect(error.message.utf8.allSatisfy { (0x20...0x7E).contains($0) }, "\(error.message)")
        #expect(error.message.hasPrefix("unknown auto-fix mode \""))
    }

    @Test func theEchoShowsWhatWasSent() {
        #expect(ControlRequest.escaped(Array("maybe\u{1B}[2J\u{8A}\"".utf8)[...]) == #"maybe\u{1B}[2J\u{8A}\u{22}"#)
    }

    @Test func theLineEndsAtTheFirstLineFeedOrPastTheLimit() {
        #expect(ControlRequest.line(in: Array("status\nautofix on\n".utf8)) == Array("status".utf8))
        #expect(ControlRequest.line(in: Array("stat".utf8)) == nil)
        #expect(ControlRequest.line(in: [UInt8](repeating: 0x61, count: 256)) == nil)
        #expect(ControlRequest.line(in: [UInt8](repeating: 0x61, count: 300))?.count == 300)
    }

    @Test func randomBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = ControlRequest.parse(bytes)
        }
    }
}
