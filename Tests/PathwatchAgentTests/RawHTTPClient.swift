import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A deliberately dumb HTTP/1.1 client over a blocking POSIX TCP socket on loopback, so that the
/// tests see exactly the bytes the server sends (and when it closes). Every blocking call runs on
/// NIO's blocking thread pool, never on the cooperative pool the server's tasks need, and every
/// read has a timeout.
final class RawHTTPClient: @unchecked Sendable {
    /// Blocking socket calls run here, not on NIO's two-thread singleton pool: tests run in
    /// parallel, and a handful of clients each waiting on a read must not starve the others.
    static let blockingPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 32)
        pool.start()
        return pool
    }()

    // @unchecked: the descriptor and buffer are used by one test at a time, sequentially.
    struct Response: Sendable {
        var statusCode: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            self.headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        var bodyText: String { String(decoding: self.body, as: UTF8.self) }
    }

    enum ClientError: Error {
        case socket(String, Int32)
        case timedOut
        case closedBeforeResponse
        case badResponse(String)
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    private var isClosed = false

    private init(fd: Int32) {
        self.fd = fd
    }

    deinit {
        self.close()
    }

    /// Closes the client's socket.
    func close() {
        guard !self.isClosed else { return }
        self.isClosed = true
        Glibc.close(self.fd)
    }

    /// Connects to 127.0.0.1:`port`.
    static func connect(port: Int) async throws -> RawHTTPClient {
        try await RawHTTPClient.blockingPool.runIfActive {
            #if canImport(Glibc)
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
                let fd = socket(AF_INET, SOCK_STREAM, 0)
            #endif
            guard fd >= 0 else { throw ClientError.socket("socket", errno) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard result == 0 else {
                let error = errno
                Glibc.close(fd)
                throw ClientError.socket("connect", error)
            }
            return RawHTTPClient(fd: fd)
        }
    }

    func send(_ text: String) async throws {
        try await self.send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) async throws {
        try await RawHTTPClient.blockingPool.runIfActive {
            var offset = 0
            while offset < bytes.count {
                let sent = bytes[offset...].withUnsafeBytes {
                    Glibc.send(self.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                guard sent > 0 else { throw ClientError.socket("send", errno) }
                offset += sent
            }
        }
    }

    /// Sends `GET path` (or another method) with `Host` and optional extra header lines.
    func request(_ path: String, method: String = "GET", headers: [String] = []) async throws -> Response {
        let extra = headers.map { $0 + "\r\n" }.joined()
        try await self.send("\(method) \(path) HTTP/1.1\r\nHost: test\r\n\(extra)\r\n")
        return try await self.readResponse(bodyless: method == "HEAD")
    }

    /// Reads one response; `bodyless` for responses to HEAD.
    func readResponse(bodyless: Bool = false, timeout: Duration = .seconds(20)) async throws -> Response {
        try await RawHTTPClient.blockingPool.runIfActive {
            let headEnd = try self.fill(timeout: timeout) { buffer in
                Self.find([13, 10, 13, 10], in: buffer).map { $0 + 4 }
            }
            let head = String(decoding: self.buffer[..<headEnd], as: UTF8.self)
            self.buffer.removeFirst(headEnd)
            var lines = head.split(separator: "\r\n").map(String.init)
            guard !lines.isEmpty else { throw ClientError.badResponse(head) }
            let statusLine = lines.removeFirst().split(separator: " ")
            guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let code = Int(statusLine[1]) else {
                throw ClientError.badResponse(head)
            }
            let headers = try lines.map { line -> (name: String, value: String) in
                guard let colon = line.firstIndex(of: ":") else { throw ClientError.badResponse(head) }
                return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " "))
            }
            var response = Response(statusCode: code, headers: headers, body: [])
            guard !bodyless else { return response }
            guard let length = response.header("Content-Length").flatMap(Int.init) else {
                throw ClientError.badResponse("no Content-Length in \(head)")
            }
            _ = try self.fill(timeout: timeout) { $0.count >= length ? length : nil }
            response.body = Array(self.buffer[..<length])
            self.buffer.removeFirst(length)
            return response
        }
    }

    /// Waits until the server closes the connection; false if it is still open after `timeout`.
    func waitForClose(timeout: Duration) async throws -> Bool {
        try await RawHTTPClient.blockingPool.runIfActive {
            self.buffer.removeAll()
            do {
                _ = try self.fill(timeout: timeout) { _ in nil }
                return false
            } catch ClientError.closedBeforeResponse {
                return true
            } catch ClientError.timedOut {
                return false
            } catch ClientError.socket(_, let code) where code == ECONNRESET {
                return true
            }
        }
    }

    /// Reads until `complete` returns a value, the peer closes, or `timeout` passes.
    private func fill(timeout: Duration, until complete: ([UInt8]) -> Int?) throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let done = complete(self.buffer) { return done }
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw ClientError.timedOut }
            let micros = max(1000, remaining.components.seconds * 1_000_000 + remaining.components.attoseconds / 1_000_000_000_000)
            var tv = timeval(tv_sec: Int(micros / 1_000_000), tv_usec: Int(micros % 1_000_000))
            setsockopt(self.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            let count = chunk.withUnsafeMutableBytes { recv(self.fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                self.buffer.append(contentsOf: chunk[..<count])
            } else if count == 0 {
                throw ClientError.closedBeforeResponse
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                continue
            } else if errno != EINTR {
                throw ClientError.socket("recv", errno)
            }
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        String(self.drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}
