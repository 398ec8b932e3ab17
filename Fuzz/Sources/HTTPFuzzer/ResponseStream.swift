import CompressNIO
import NIOCore

/// Checks what the server wrote on one connection: a sequence of complete HTTP/1.x responses,
/// each with the framing headers the server promises, and none after a `Connection: close` one.
/// A gzipped body must be the `/metrics` answer, with `Vary: Accept-Encoding`, and inflate to it.
enum ResponseStream {
    struct Response {
        var status: Int
        var closes: Bool
    }

    /// The bodies the server itself writes, by status.
    static let serverBodies: [Int: String] = [
        400: "bad request\n", 404: "not found\n", 405: "method not allowed\n",
        413: "request body not accepted\n", 431: "request head too large\n",
        403: "/state is served to loopback clients only (http.stateFrom)\n",
        408: "request head not received in time\n",
        503: "busy: /state is being served to other clients; retry later\n",
        401: "unauthorized\n", 429: "too many password checks at once; retry later\n",
    ]

    static func parse(_ output: [UInt8]) -> [Response] {
        var responses: [Response] = []
        var rest = output[...]
        while !rest.isEmpty {
            require(responses.last?.closes != true, "a response after one that closes the connection")
            guard let headEnd = endOfHead(rest) else { fatalError("an incomplete response head: \(text(rest))") }
            let lines = text(rest[rest.startIndex..<headEnd]).components(separatedBy: "\r\n")
            rest = rest[(headEnd + 4)...]
            let response = check(lines, body: &rest)
            responses.append(response)
        }
        return responses
    }

    private static func check(_ lines: [String], body rest: inout ArraySlice<UInt8>) -> Response {
        let statusLine = lines[0]
        require(
            statusLine.hasPrefix("HTTP/1.1 ") || statusLine.hasPrefix("HTTP/1.0 "), "bad status line: \(statusLine)")
        guard let status = Int(statusLine.dropFirst(9).prefix(3)) else { fatalError("bad status line: \(statusLine)") }
        var headers: [String: [String]] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { fatalError("bad header line: \(line)") }
            let value = line[line.index(after: colon)...].drop { $0 == " " }
            headers[line[..<colon].lowercased(), default: []].append(String(value))
        }
        require(headers["content-type"]?.count == 1, "no single Content-Type")
        if status == 405 { require(headers["allow"] == ["GET, HEAD"], "405 without Allow: GET, HEAD") }
        if status == 401 {
            require(headers["www-authenticate"] == [#"Basic realm="pathwatch""#], "401 without its WWW-Authenticate challenge")
        }
        let closes = headers["connection"]?.contains("close") == true
        guard let lengths = headers["content-length"] else {
            // NIO's encoder drops Content-Length from the answer to CONNECT; that answer closes
            // the connection, so its end is the end of the stream.
            require(closes && rest.isEmpty, "a response without Content-Length that is not the last")
            return Response(status: status, closes: closes)
        }
        guard lengths.count == 1, let length = Int(lengths[0]) else { fatalError("no single Content-Length") }

        // Responses to HEAD have no body; no body the server sends starts like a status line.
        let bodyless = rest.isEmpty || rest.starts(with: Array("HTTP/1.".utf8))
        if !bodyless {
            require(rest.count >= length, "a body shorter than its Content-Length")
            var body = text(rest.prefix(length))
            if let encoding = headers["content-encoding"] {
                require(encoding == ["gzip"] && status == 200, "Content-Encoding \(encoding) on a \(status)")
                require(headers["vary"] == ["Accept-Encoding"], "gzip without Vary: Accept-Encoding")
                var compressed = ByteBuffer(bytes: rest.prefix(length))
                guard var inflated = try? compressed.decompress(with: .gzip()) else { fatalError("a gzip body that does not inflate") }
                body = inflated.readString(length: inflated.readableBytes) ?? ""
                require(body == "fuzz metrics\n", "gzip on another answer than /metrics: \(body)")
            }
            if status == 200 {
                require(RecordingHandler.bodies.contains(body), "an unexpected 200 body: \(body)")
            } else {
                require(serverBodies[status] == body, "status \(status) with body \(body)")
            }
            rest = rest.dropFirst(length)
        } else {
            require(status == 200 || serverBodies[status] != nil, "unexpected status \(status)")
        }
        return Response(status: status, closes: closes)
    }

    private static func endOfHead(_ bytes: ArraySlice<UInt8>) -> Int? {
        let end: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A]
        var index = bytes.startIndex
        while index + 4 <= bytes.endIndex {
            if bytes[index..<(index + 4)].elementsEqual(end) { return index }
            index += 1
        }
        return nil
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
