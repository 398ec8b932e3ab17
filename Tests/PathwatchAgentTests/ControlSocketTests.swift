import Foundation
import Glibc
import Testing

@testable import PathwatchAgent

/// Issue 17 item 10: the control socket's directory, a live socket at its path, and the client's
/// trust in whoever answers.
@Suite("Control socket: directory, live sockets, peer credentials")
struct ControlSocketTests {
    @Test func directoryRules() {
        func refusal(_ isDirectory: Bool, _ owner: uid_t, _ mode: mode_t) -> String? {
            ControlSocketFile.refusal(directory: "/run/pw", isDirectory: isDirectory, owner: owner, mode: mode, agentUID: 0)
        }
        #expect(refusal(true, 0, 0o700) == nil)
        #expect(refusal(true, 0, 0o755) == nil)
        #expect(refusal(true, 65534, 0o700)?.contains("owned by uid 65534") == true)
        #expect(refusal(true, 0, 0o777)?.contains("writable by other users") == true)
        #expect(refusal(true, 0, 0o1773)?.contains("writable by other users") == true)
        #expect(refusal(true, 0, 0o720)?.contains("writable by other users") == true)
        #expect(refusal(false, 0, 0o700)?.contains("not a directory") == true)
        #expect(
            ControlSocketFile.refusal(directory: "/d", isDirectory: true, owner: 1000, mode: 0o700, agentUID: 1000) == nil)
    }
}

/// The same, against the real file system and real sockets (root: chown and a second user).
@Suite("Control socket files (root)", .enabled(if: getuid() == 0, "needs root to chown and to run a peer as uid 65534"))
struct ControlSocketFileTests {
    /// A fresh directory under /tmp, removed afterwards.
    static func withDirectory(mode: mode_t = 0o700, _ body: (String) throws -> Void) throws {
        let base = "/tmp/pw-control-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        #expect(mkdir(base, 0o755) == 0)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let directory = base + "/run"
        #expect(mkdir(directory, 0o700) == 0)
        #expect(chmod(directory, mode) == 0)
        try body(directory)
    }

    @Test func refusesADirectoryOthersCanWrite() throws {
        try Self.withDirectory(mode: 0o777) { directory in
            #expect(throws: ControlSocketFile.SetupError.self) { _ = try ControlServer.listen(at: directory + "/control.sock") }
        }
    }

    @Test func refusesADirectoryOwnedByAnotherUser() throws {
        try Self.withDirectory { directory in
            #expect(chown(directory, 65534, 65534) == 0)
            #expect(throws: ControlSocketFile.SetupError.self) { _ = try ControlServer.listen(at: directory + "/control.sock") }
        }
    }

    @Test func createsAMissingDirectoryPrivate() throws {
        try Self.withDirectory { directory in
            let path = directory + "/sub/control.sock"
            let fd = try ControlServer.listen(at: path)
            defer { close(fd) }
            var info = stat()
            #expect(stat(directory + "/sub", &info) == 0)
            #expect(info.st_mode & 0o777 == 0o700)
        }
    }

    /// Only root (the owner) may connect: connect() needs write permission on the socket file.
    @Test func theSocketIsTheOwnersOnly() throws {
        try Self.withDirectory { directory in
            let path = directory + "/control.sock"
            let fd = try ControlServer.listen(at: path)
            defer { close(fd) }
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o777 == 0o600)
        }
    }

    /// Whether something accepts connections at `path`.
    static func listening(_ path: String) throws -> Bool {
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(probe) }
        return try ControlSocketFile.connect(probe, to: path) == 0
    }

    @Test func neverUnlinksALiveSocketButReplacesAStaleOne() throws {
        try Self.withDirectory { directory in
            let path = directory + "/control.sock"
            let first = try ControlServer.listen(at: path)
            #expect(throws: ControlSocketFile.SetupError.self) { _ = try ControlServer.listen(at: path) }
            #expect(try Self.listening(path), "the live socket must stay")
            close(first)  // the file stays, nobody listens: stale
            #expect(try !Self.listening(path))
            let second = try ControlServer.listen(at: path)
            #expect(try Self.listening(path))
            ControlSocketFile.removeIfOurs(path)
            #expect(!FileManager.default.fileExists(atPath: path), "our own socket is removed at stop")
            close(second)
        }
    }

    @Test func clientRefusesAnAnswerFromANonRootServer() throws {
        try Self.withDirectory(mode: 0o777) { directory in
            let path = directory + "/control.sock"
            // An impostor, as uid 65534, that answers every request with "ok".
            let script = """
                import socket, sys
                s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); print("ready", flush=True)
                c, _ = s.accept(); c.settimeout(2)
                try: c.recv(256)
                except Exception: pass
                c.sendall(b"ok autofix=on\\n"); c.close()
                """
            let impostor = Process()
            impostor.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            impostor.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, path]
            let output = Pipe()
            impostor.standardOutput = output
            try impostor.run()
            defer {
                if impostor.isRunning { impostor.terminate() }
                impostor.waitUntilExit()
            }
            let ready = output.fileHandleForReading.availableData
            try #require(String(decoding: ready, as: UTF8.self).hasPrefix("ready"))
            #expect {
                _ = try ControlClient.send("autofix on", to: path, timeoutSeconds: 2)
            } throws: { error in
                "\(error)".contains("uid 65534") && "\(error)".contains("not by root")
            }
            // An agent stopping now must leave the socket alone: it is not ours.
            ControlSocketFile.removeIfOurs(path)
            #expect(FileManager.default.fileExists(atPath: path))
        }
    }
}
