import Glibc

/// `pathwatch autofix …`: sends one request to a running agent and returns its answer line.
public enum ControlClient {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Sends `request` and returns the answer, but only from a server running as `trustedUID`
    /// (root): any user who could create a socket at `path` could otherwise answer `ok`.
    public static func send(
        _ request: String, to path: String, timeoutSeconds: Int = 5, trustedUID: uid_t = 0
    ) throws(Failure) -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "cannot create a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected: Int32
        do {
            connected = try ControlSocketFile.connect(fd, to: path)
        } catch {
            throw Failure(description: error.description)
        }
        guard connected == 0 else {
            throw Failure(
                description:
                    "cannot reach a running pathwatch at \(path): \(String(cString: strerror(connected))) (is the agent running, and are you root?)"
            )
        }
        guard let peer = ControlSocketFile.peerCredentials(fd), peer.uid == trustedUID else {
            let owner = ControlSocketFile.peerCredentials(fd).map { "uid \($0.uid), pid \($0.pid)" } ?? "an unknown user"
            throw Failure(
                description: "the socket at \(path) is served by \(owner), not by root: not a pathwatch agent; nothing was sent")
        }
        let line = Array((request + "\n").utf8)
        _ = line.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while !answer.contains(0x0A) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            answer += buffer[0..<n]
        }
        guard !answer.isEmpty else { throw Failure(description: "pathwatch at \(path) closed the connection without answering") }
        return String(decoding: answer, as: UTF8.self).trimmingWhitespace()
    }
}
