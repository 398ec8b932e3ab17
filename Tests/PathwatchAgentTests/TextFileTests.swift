import Glibc
import Testing

@testable import PathwatchAgent

/// Configuration files are read with the kernel's reason for a failure and a size bound.
@Suite("Text file reading")
struct TextFileTests {
    @Test func aMissingFileSaysSo() {
        #expect(throws: TextFile.ReadError(description: "No such file or directory")) {
            _ = try TextFile.read("/nonexistent/pathwatch-\(getpid()).yaml")
        }
    }

    @Test func aDirectoryIsRefused() {
        #expect(throws: TextFile.ReadError(description: "is a directory")) { _ = try TextFile.read("/tmp") }
    }

    @Test func aFileIsReadWholeAndAnOversizedOneIsRefused() throws {
        let path = "/tmp/pathwatch-textfile-\(getpid())"
        defer { unlink(path) }
        let write = { (bytes: [UInt8]) in
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            defer { close(fd) }
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                guard n > 0 else { return }
                offset += n
            }
        }
        let text = String(repeating: "key: value\n", count: 20_000)  // several read chunks
        write(Array(text.utf8))
        #expect(try TextFile.read(path) == text)
        write([UInt8](repeating: UInt8(ascii: "#"), count: TextFile.maxBytes + 1))
        #expect(throws: TextFile.ReadError.self) { _ = try TextFile.read(path) }
    }
}
