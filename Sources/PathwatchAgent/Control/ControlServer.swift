import Foundation
import Glibc
import Logging
import PathwatchCore
import ServiceLifecycle

/// The local control socket `pathwatch autofix` talks to.
///
/// A Unix stream socket, mode 0600 in a 0700 directory, and every peer's credentials are
/// checked (`SO_PEERCRED`): only root may change the mode. One short request per connection,
/// read with a deadline, so a silent or garbage-sending client costs nothing. Served from its
/// own thread; nothing here touches the node except the auto-fix mode.
public final class ControlServer: Service {
    private let path: String
    private let autofix: AutofixSwitch
    private let status: @Sendable () -> String
    private let logger: Logger
    private let thread = WatcherThread(name: "control")

    public init(path: String, autofix: AutofixSwitch, status: @escaping @Sendable () -> String, logger: Logger) {
        self.path = path
        self.autofix = autofix
        self.status = status
        self.logger = logger
    }

    public func run() async throws {
        let listener = try Self.listen(at: path)
        logger.info("control socket listening", metadata: ["path": "\(path)"])
        thread.start { [self] thread in serve(listener, thread) }
        await thread.runUntilShutdown()
        close(listener)
        unlink(path)
    }

    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    /// Creates the socket, replacing a stale socket file but nothing else.
    static func listen(at path: String) throws -> Int32 {
        let directory = (path as NSString).deletingLastPathComponent
        if !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw SetupError(description: "control socket path \(path) exists and is not a socket; refusing to replace it")
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SetupError(description: "cannot create the control socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw SetupError(description: "control socket path \(path) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let previousMask = umask(0o177)  // the socket is created 0600
        defer { umask(previousMask) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SetupError(description: "cannot listen on the control socket \(path): \(reason)")
        }
        return fd
    }

    private func serve(_ listener: Int32, _ thread: WatcherThread) {
        while !thread.isStopping {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 250) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var credentials = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(client, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0, credentials.uid == 0 else {
            logger.warning(
                "control socket: refused a client that is not root", metadata: ["uid": "\(credentials.uid)", "pid": "\(credentials.pid)"])
            reply(client, "error: only root may control pathwatch")
            return
        }
        let line = readLine(client)
        switch ControlRequest.parse(line) {
        case .success(.setAutofix(let mode)):
            autofix.set(mode, by: "control socket (pid \(credentials.pid))")
            reply(client, "ok autofix=\(mode.rawValue)")
        case .success(.status):
            reply(client, "ok " + status())
        case .failure(let error):
            logger.warning("control socket: refused a request", metadata: ["reason": "\(error)"])
            reply(client, "error: \(error)")
        }
    }

    /// Reads up to one line (or past `maxLineBytes`, so an overlong line is recognised); at the
    /// end of input or the deadline, whatever arrived.
    private func readLine(_ client: Int32) -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return received }
            received += buffer[0..<n]
            if let line = ControlRequest.line(in: received) { return line }
        }
    }

    private func reply(_ client: Int32, _ text: String) {
        let bytes = Array((text + "\n").utf8)
        _ = bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}

/// `struct ucred` (Glibc hides it behind _GNU_SOURCE): what `SO_PEERCRED` fills in.
struct PeerCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = UInt32.max
    var gid: UInt32 = UInt32.max
}
