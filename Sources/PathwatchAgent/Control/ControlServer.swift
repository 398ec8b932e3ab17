import Glibc
import Logging
import NetlinkIO
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
        ControlSocketFile.removeIfOurs(path)  // while we still listen, so that we can tell
        close(listener)
    }

    /// Creates the socket in a checked directory, replacing a stale socket file but nothing else.
    static func listen(at path: String) throws(ControlSocketFile.SetupError) -> Int32 {
        try ControlSocketFile.prepareDirectory(of: path)
        try ControlSocketFile.removeStale(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw ControlSocketFile.SetupError(description: "cannot create the control socket: \(String(cString: strerror(errno)))")
        }
        var address: sockaddr_un
        do {
            address = try ControlSocketFile.address(path)
        } catch {
            close(fd)
            throw error
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ControlSocketFile.SetupError(description: "cannot bind the control socket \(path): \(reason)")
        }
        // 0600 before listen(): until then every connect() is refused, so there is no moment at
        // which another user can connect. Not umask: it is per process, and changing it races with
        // every other thread that creates a file.
        guard chmod(path, 0o600) == 0, Glibc.listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            unlink(path)
            throw ControlSocketFile.SetupError(description: "cannot listen on the control socket \(path): \(reason)")
        }
        return fd
    }

    private func serve(_ listener: Int32, _ thread: WatcherThread) {
        while !thread.isStopping {
            // Sleeps until a client connects or the agent stops.
            guard WakeSignal.poll([listener], wake: thread.wake, timeoutMilliseconds: -1) == .readable else { continue }
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
        let credentials = ControlSocketFile.peerCredentials(client) ?? PeerCredentials()
        guard credentials.uid == 0 else {
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
