/// Escaping for log values. Interface names, HTTP paths and peer data reach the log, and a
/// newline, an ESC sequence, a C1 control or a bidirectional override in them would forge a log
/// line or rewrite an operator's terminal; so every character that does not print is escaped, in
/// both formats, and text-format values are quoted whenever they hold one.
enum LogEscaping {
    /// Whether `scalar` prints as itself: not a control (C0, DEL, C1), not a format character
    /// (bidirectional overrides, zero-width characters), not a line or paragraph separator.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: false
        default: true
        }
    }

    /// A text-format value: as it is when it is plain, otherwise a quoted string with every
    /// non-printable character escaped.
    static func textValue(_ value: String) -> String {
        let plain =
            !value.isEmpty
            && value.unicodeScalars.allSatisfy { $0 != " " && $0 != "\"" && $0 != "=" && $0 != "\\" && isPrintable($0) }
        return plain ? value : quote(value)
    }

    /// Text that is not quoted (the message): non-printable characters escaped, nothing else.
    static func escapeNonPrintable(_ text: String) -> String {
        guard !text.unicodeScalars.allSatisfy(isPrintable) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            if isPrintable(scalar) { out.unicodeScalars.append(scalar) } else { appendEscaped(scalar, to: &out) }
        }
        return out
    }

    /// A JSON string literal (RFC 8259) in which, beyond what JSON requires, every non-printable
    /// character is escaped as `\uXXXX` (a surrogate pair above U+FFFF).
    static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where isPrintable(scalar): out.unicodeScalars.append(scalar)
            default: appendEscaped(scalar, to: &out)
            }
        }
        return out + "\""
    }

    private static func appendEscaped(_ scalar: Unicode.Scalar, to out: inout String) {
        switch scalar {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            for unit in String(scalar).utf16 {
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
    }
}
