/// The control socket's line protocol: one request line, one answer line.
///
///     autofix off|dry-run|on   ->  ok autofix=on
///     status                   ->  ok autofix=on ready=true findings=0
///     anything else            ->  error: …
///
/// Parsing is pure and total: any bytes give a request or a reason, never a trap. It lives here,
/// not next to the socket in the agent, so that the fuzzers (Fuzz/ControlFuzzer) can reach it.
public enum ControlRequest: Equatable, Sendable {
    case setAutofix(AutofixMode)
    case status

    /// The longest request line accepted; a longer one is refused unread.
    public static let maxLineBytes = 256

    /// The request line in the bytes received so far: those before the first LF. Without an LF,
    /// nil while more may come (at most `maxLineBytes` bytes so far), else everything received,
    /// which `parse` refuses as too long; the server stops reading either way.
    public static func line(in received: [UInt8]) -> [UInt8]? {
        if let newline = received.firstIndex(of: 0x0A) { return Array(received[..<newline]) }
        return received.count > maxLineBytes ? received : nil
    }

    public static func parse(_ bytes: [UInt8]) -> Result<ControlRequest, ControlError> {
        guard bytes.count <= maxLineBytes else { return .failure(ControlError("request longer than \(maxLineBytes) bytes")) }
        guard String(validating: bytes, as: UTF8.self) != nil else { return .failure(ControlError("request is not UTF-8 text")) }
        // Words and keywords are matched as bytes: as Characters, CR LF is one grapheme (so no
        // separator), and String equality is Unicode canonical equivalence, not the wire format.
        let words = bytes.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A })
        func keyword(_ word: String) -> Bool { words.first?.elementsEqual(word.utf8) == true }
        switch words.count {
        case 1 where keyword("status"):
            return .success(.status)
        case 2 where keyword("autofix"):
            guard let mode = AutofixMode.allCases.first(where: { words[1].elementsEqual($0.rawValue.utf8) }) else {
                let shown = Self.escaped(words[1].prefix(32))
                return .failure(ControlError("unknown auto-fix mode \"\(shown)\"; expected off, dry-run or on"))
            }
            return .success(.setAutofix(mode))
        default:
            return .failure(ControlError("unknown request; expected \"autofix off|dry-run|on\" or \"status\""))
        }
    }

    /// Printable ASCII as is, every other scalar as `\u{…}`: the refusal is the answer line and is
    /// logged, so what the client sent must not end the line or reach a terminal as control
    /// characters (C0, DEL, C1) or bidirectional overrides.
    static func escaped(_ bytes: ArraySlice<UInt8>) -> String {
        var text = ""
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            if (0x20...0x7E).contains(scalar.value) && scalar != "\\" && scalar != "\"" {
                text.unicodeScalars.append(scalar)
            } else {
                text += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
        }
        return text
    }
}

public struct ControlError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
