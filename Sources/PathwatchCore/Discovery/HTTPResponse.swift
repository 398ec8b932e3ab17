/// A metadata service's answer: its status and whole body. Taken apart by AsyncHTTPClient
/// (NIO's HTTP/1 decoder); the agent's client enforces the bounds below.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    /// Largest head (status line and headers) accepted.
    public static let maxHeadBytes = 8 * 1024
}

/// At most 80 characters of untrusted text, safe for a log line.
func printable(_ text: some StringProtocol) -> String {
    let cleaned = text.unicodeScalars.prefix(80).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? String($0) : "?" }.joined()
    return "'" + cleaned + (text.unicodeScalars.count > 80 ? "…" : "") + "'"
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
