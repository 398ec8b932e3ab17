import Logging
import Testing

@testable import PathwatchAgent

/// Issue 17 item 11: interface names and HTTP paths reach log values; before, text values were
/// quoted only for space, `"` and `=`, so a tab, ESC, a C1 control or a newline passed through.
@Suite("Log lines escape every non-printable character")
struct LogEscapingTests {
    static let hostile = [
        "eth\t0", "\u{1B}[31mred", "a\u{85}b", "x\u{9B}2J", "\u{7F}", "a\nlevel=critical", "cr\rlf",
        "\u{202E}txt.exe", "zero\u{200B}width", "line\u{2028}sep", "tag\u{E0001}",
    ]

    /// True when every character of `line` but its final newline prints as itself.
    static func printable(_ line: String) -> Bool {
        #expect(line.hasSuffix("\n"))
        return line.dropLast().unicodeScalars.allSatisfy(LogEscaping.isPrintable)
    }

    @Test(arguments: hostile) func textValuesAreEscaped(_ value: String) {
        let line = AgentLogHandler.textLine(label: "pathwatch", level: .info, message: "m", fields: ["interface": value])
        #expect(Self.printable(line), "\(line.debugDescription)")
        #expect(line.contains(" interface=\""))
    }

    @Test(arguments: hostile) func messagesLabelsAndKeysAreEscaped(_ value: String) {
        let text = AgentLogHandler.textLine(label: value, level: .info, message: value, fields: [value: "v"])
        #expect(Self.printable(text), "\(text.debugDescription)")
        let json = AgentLogHandler.jsonLine(label: value, level: .info, message: value, fields: [value: value])
        #expect(Self.printable(json), "\(json.debugDescription)")
    }

    @Test func escapesAreReadable() {
        #expect(LogEscaping.quote("a\u{1B}b\u{85}\n\u{E0001}") == #""a\u001bb\u0085\n\udb40\udc01""#)
        #expect(LogEscaping.textValue("eth0") == "eth0")
        #expect(LogEscaping.textValue("grün") == "grün")
        #expect(LogEscaping.textValue("a b") == #""a b""#)
        #expect(LogEscaping.textValue("a\\b") == #""a\\b""#)
        #expect(LogEscaping.textValue("") == #""""#)
        #expect(LogEscaping.escapeNonPrintable("GET /\u{1B}]0;x\u{7}") == #"GET /\u001b]0;x\u0007"#)
    }
}
