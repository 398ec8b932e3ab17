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
    @Test func wordsAreSplitOnBytesAndEchoedEscaped() throws {
        #expect(try ControlRequest.parse(Array("autofix dry-run\r\n".utf8)).get() == .setAutofix(.dryRun))
        #expect(try ControlRequest.parse(Array("status\r\n".utf8)).get() == .status)
        let refusal = ControlRequest.parse(Array("autofix \u{1B}[2Jon\r".utf8))
        guard case .failure(let error) = refusal else {
            Issue.record("accepted an unknown mode")
            return
        }
        #expect(!error.message.unicodeScalars.contains { $0.properties.generalCategory == .control })
        #expect(error.message.contains(#""\u{1B}[2Jon""#))
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
