import Glibc
import SystemPackage

/// Where the control socket lives, checked so that no other user can put their own socket in its
/// place (issue 17 item 10: a directory pre-created by another user let that user swap in a socket
/// that answered `ok` while the agent stayed `off`).
enum ControlSocketFile {
    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    /// Why a directory may not hold the control socket, or nil when it may: it must be a real
    /// directory (not a symbolic link), owned by root or by the agent's own user, and writable by
    /// nobody else. Pure, for tests.
    static func refusal(directory: String, isDirectory: Bool, owner: uid_t, mode: mode_t, agentUID: uid_t) -> String? {
        guard isDirectory else { return "\(directory) is not a directory" }
        guard owner == 0 || owner == agentUID else {
            return "\(directory) is owned by uid \(owner), not by root; remove it or give it to root (chown root \(directory))"
        }
        guard mode & 0o022 == 0 else {
            return "\(directory) is writable by other users (mode \(String(mode & 0o7777, radix: 8))); chmod go-w \(directory)"
        }
        return nil
    }

    /// Creates the directory (0700) when it is missing, then checks it.
    static func prepareDirectory(of path: String) throws(SetupError) {
        let directory = FilePath(path).removingLastComponent().string
        var info = stat()
        if lstat(directory, &info) != 0 {
            // chmod after mkdir: mkdir's mode passes through the process umask.
            let created = errno == ENOENT && mkdir(directory, 0o700) == 0
            guard created ? chmod(directory, 0o700) == 0 : errno == EEXIST, lstat(directory, &info) == 0 else {
                throw SetupError(
                    description: "cannot create the control socket directory \(directory): \(String(cString: strerror(errno)))")
            }
        }
        if let reason = refusal(
            directory: directory, isDirectory: info.st_mode & S_IFMT == S_IFDIR, owner: info.st_uid, mode: info.st_mode,
            agentUID: geteuid())
        {
            throw SetupError(description: "refusing the control socket directory: \(reason)")
        }
    }

    /// Removes a socket file left by an agent that is gone. A socket someone still listens on is
    /// never removed (connect first: only a refused connection proves it stale), nor anything
    /// that is not a socket.
    static func removeStale(_ path: String) throws(SetupError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw SetupError(description: "control socket path \(path) exists and is not a socket; refusing to replace it")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw SetupError(description: "cannot create a socket: \(String(cString: strerror(errno)))") }
        defer { close(probe) }
        switch try connect(probe, to: path) {
        case 0:
            throw SetupError(description: "another process is listening on the control socket \(path); refusing to replace it")
        case ECONNREFUSED:
            break
        case let error:
            throw SetupError(
                description: "cannot tell whether \(path) is in use (\(String(cString: strerror(error)))); refusing to replace it")
        }
        unlink(path)
    }

    /// Unlinks `path` only if the socket there is the one this process listens on (connect, and
    /// the peer is us): never a socket another agent has bound since.
    static func removeIfOurs(_ path: String) {
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { return }
        defer { close(probe) }
        guard (try? connect(probe, to: path)) == 0, peerCredentials(probe)?.pid == getpid() else { return }
        unlink(path)
    }

    static func address(_ path: String) throws(SetupError) -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SetupError(description: "socket path \(path) is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return address
    }

    /// `connect(2)` to a Unix socket path. - Returns: 0, or the errno value that says why not.
    static func connect(_ fd: Int32, to path: String) throws(SetupError) -> Int32 {
        var address = try address(path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return result == 0 ? 0 : errno
    }

    /// The credentials of the process at the other end of a connected Unix socket (`SO_PEERCRED`).
    static func peerCredentials(_ fd: Int32) -> PeerCredentials? {
        var credentials = PeerCredentials()
        var length = socklen_t(MemoryLayout<PeerCredentials>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
        return credentials
    }
}

/// `struct ucred` (Glibc hides it behind _GNU_SOURCE): what `SO_PEERCRED` fills in.
struct PeerCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = UInt32.max
    var gid: UInt32 = UInt32.max
}
