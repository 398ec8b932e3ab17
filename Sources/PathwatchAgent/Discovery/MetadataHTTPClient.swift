import Foundation
import Netlink
import PathwatchCore

/// A tiny blocking HTTP/1.1 client on a POSIX socket, for the link-local metadata service only:
/// a literal address, one request per connection (`Connection: close`), a deadline covering
/// connect and the whole response, and a size limit. Runs on discovery's own thread.
struct MetadataHTTPClient {
    var host: String
    var port: Int
    var timeout: Double
    var maxResponseBytes = InstanceMetadata.maxBodyBytes + HTTPResponse.maxHeadBytes
    /// Checked while waiting, so the agent's shutdown never waits out a slow service.
    var isStopping: @Sendable () -> Bool = { false }

    /// Sends one request and returns the parsed response; every failure is a ``MetadataError``.
    func request(_ method: String, _ path: String, headers: [(String, String)]) throws(MetadataError) -> HTTPResponse {
        let deadline = Date().addingTimeInterval(timeout)
        let fd = try connect(deadline: deadline)
        defer { close(fd) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host.contains(":") ? "[\(host)]" : host)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: 0\r\nConnection: close\r\nUser-Agent: pathwatch\r\n\r\n"
        try send(fd, Array(head.utf8), deadline: deadline)
        let bytes = try receive(fd, deadline: deadline)
        return try HTTPResponse.parse(bytes, maxBodyBytes: InstanceMetadata.maxBodyBytes)
    }

    /// `connect(2)` with a `sockaddr_in` or `sockaddr_in6`, passed as the `sockaddr` it begins with.
    private static func connect<Address>(_ fd: Int32, to address: inout Address) -> Int32 {
        withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<Address>.size)) }
        }
    }

    private func connect(deadline: Date) throws(MetadataError) -> Int32 {
        guard let address = IPAddress(host) else { throw MetadataError(.unreachable, "not a literal address: \(host)") }
        let family = address.family == .inet ? AF_INET : AF_INET6
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MetadataError(.unreachable, "socket: \(errnoText())") }
        var result: Int32
        switch address {
        case .v4:
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = in_port_t(UInt16(port).bigEndian)
            let bytes = address.networkBytes
            withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: bytes) }
            result = Self.connect(fd, to: &sa)
        case .v6:
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = in_port_t(UInt16(port).bigEndian)
            let bytes = address.networkBytes
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: bytes) }
            result = Self.connect(fd, to: &sa)
        }
        if result != 0 {
            let code = errno
            guard code == EINPROGRESS else {
                close(fd)
                throw Self.classify(code, "connect to \(endpointText)")
            }
            do {
                try wait(fd, for: Int16(POLLOUT), deadline: deadline, what: "connect to \(endpointText)")
            } catch {
                close(fd)
                throw error
            }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
            if soError != 0 {
                close(fd)
                throw Self.classify(soError, "connect to \(endpointText)")
            }
        }
        return fd
    }

    private func send(_ fd: Int32, _ bytes: [UInt8], deadline: Date) throws(MetadataError) {
        var sent = 0
        while sent < bytes.count {
            try wait(fd, for: Int16(POLLOUT), deadline: deadline, what: "sending the request")
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw Self.classify(errno, "sending the request")
            }
            sent += n
        }
    }

    private func receive(_ fd: Int32, deadline: Date) throws(MetadataError) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            try wait(fd, for: Int16(POLLIN), deadline: deadline, what: "waiting for the answer")
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw Self.classify(errno, "reading the answer")
            }
            if n == 0 { return bytes }
            bytes += buffer[..<n]
            guard bytes.count <= maxResponseBytes else {
                throw MetadataError(.garbage, "answer larger than \(maxResponseBytes) bytes")
            }
            if HTTPResponse.isComplete(bytes) { return bytes }
        }
    }

    private func wait(_ fd: Int32, for events: Int16, deadline: Date, what: String) throws(MetadataError) {
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw MetadataError(.timeout, "no answer from \(endpointText) within \(timeout) s (\(what))") }
            guard !isStopping() else { throw MetadataError(.unreachable, "stopping") }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&p, 1, Int32(min(left * 1000, 200).rounded(.up)))
            if n < 0 {
                if errno == EINTR { continue }
                throw MetadataError(.unreachable, "poll: \(errnoText())")
            }
            if n > 0 { return }
        }
    }

    private var endpointText: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    private static func classify(_ code: Int32, _ what: String) -> MetadataError {
        let text = String(cString: strerror(code))
        switch code {
        case ETIMEDOUT: return MetadataError(.timeout, "\(what): \(text)")
        default: return MetadataError(.unreachable, "\(what): \(text)")
        }
    }

    private func errnoText() -> String { String(cString: strerror(errno)) }
}
