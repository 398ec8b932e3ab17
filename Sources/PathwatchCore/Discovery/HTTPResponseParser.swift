/// A complete HTTP/1.x response, read up to the connection's end, taken apart strictly.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var body: [UInt8]

    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }

    /// Largest head (status line and headers) accepted.
    public static let maxHeadBytes = 8 * 1024

    /// Parses `bytes` (everything the server sent before closing, or before the body was
    /// complete). Bodies larger than `maxBodyBytes`, malformed heads, truncated or chunked-wrong
    /// bodies are `garbage` errors.
    public static func parse(_ bytes: [UInt8], maxBodyBytes: Int) throws(MetadataError) -> HTTPResponse {
        guard let headEnd = headEnd(bytes) else {
            if bytes.count > maxHeadBytes { throw MetadataError(.garbage, "response head larger than \(maxHeadBytes) bytes") }
            throw MetadataError(.garbage, bytes.isEmpty ? "empty response" : "response ended inside its head")
        }
        guard headEnd <= maxHeadBytes else { throw MetadataError(.garbage, "response head larger than \(maxHeadBytes) bytes") }
        guard let head = String(validating: bytes[..<headEnd], as: UTF8.self), head.utf8.allSatisfy({ $0 < 0x80 }) else {
            throw MetadataError(.garbage, "response head is not ASCII")
        }
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0", parts[1].count == 3,
            parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) }), let status = Int(parts[1]), (100...599).contains(status)
        else { throw MetadataError(.garbage, "not an HTTP status line: \(printable(statusLine))") }

        var contentLength: Int?
        var chunked = false
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw MetadataError(.garbage, "malformed header line: \(printable(line))")
            }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            switch name {
            case "content-length":
                guard value.count <= 12, !value.isEmpty, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let n = Int(value) else {
                    throw MetadataError(.garbage, "bad Content-Length: \(printable(value))")
                }
                if let contentLength, contentLength != n { throw MetadataError(.garbage, "conflicting Content-Length headers") }
                contentLength = n
            case "transfer-encoding":
                guard value.lowercased() == "chunked" else {
                    throw MetadataError(.garbage, "unsupported Transfer-Encoding: \(printable(value))")
                }
                chunked = true
            default:
                break
            }
        }
        let rest = Array(bytes[(headEnd + 4)...])
        let body: [UInt8]
        if chunked {
            body = try dechunk(rest, maxBodyBytes: maxBodyBytes)
        } else if let contentLength {
            guard contentLength <= maxBodyBytes else {
                throw MetadataError(.garbage, "response body of \(contentLength) bytes exceeds the \(maxBodyBytes)-byte limit")
            }
            guard rest.count >= contentLength else {
                throw MetadataError(.garbage, "response body truncated: \(rest.count) of \(contentLength) bytes")
            }
            body = Array(rest.prefix(contentLength))
        } else {
            guard rest.count <= maxBodyBytes else {
                throw MetadataError(.garbage, "response body exceeds the \(maxBodyBytes)-byte limit")
            }
            body = rest
        }
        return HTTPResponse(status: status, body: body)
    }

    /// Whether `bytes` already hold a whole response whose length is known (Content-Length), so
    /// the reader need not wait for the server to close.
    public static func isComplete(_ bytes: [UInt8]) -> Bool {
        guard let headEnd = headEnd(bytes), let head = String(validating: bytes[..<headEnd], as: UTF8.self) else { return false }
        for line in head.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == "content-length" else { continue }
            guard let n = Int(line[line.index(after: colon)...].trimmingSpaces) else { return false }
            return bytes.count - headEnd - 4 >= n
        }
        return false
    }

    /// Offset of the `\r\n\r\n` ending the head.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }

    static func dechunk(_ bytes: [UInt8], maxBodyBytes: Int) throws(MetadataError) -> [UInt8] {
        var body: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = crlf(bytes, from: i) else { throw MetadataError(.garbage, "chunked body truncated") }
            let sizeField = bytes[i..<lineEnd].prefix { $0 != UInt8(ascii: ";") }
            guard !sizeField.isEmpty, sizeField.count <= 8, let text = String(validating: sizeField, as: UTF8.self),
                let size = Int(text, radix: 16), size >= 0
            else { throw MetadataError(.garbage, "bad chunk size") }
            i = lineEnd + 2
            if size == 0 { return body }
            guard body.count + size <= maxBodyBytes else {
                throw MetadataError(.garbage, "response body exceeds the \(maxBodyBytes)-byte limit")
            }
            guard bytes.count - i >= size + 2 else { throw MetadataError(.garbage, "chunked body truncated") }
            body += bytes[i..<(i + size)]
            guard bytes[i + size] == 13, bytes[i + size + 1] == 10 else { throw MetadataError(.garbage, "chunk not followed by CRLF") }
            i += size + 2
        }
    }

    private static func crlf(_ bytes: [UInt8], from start: Int) -> Int? {
        var i = start
        while i + 1 < bytes.count {
            if bytes[i] == 13, bytes[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }
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
