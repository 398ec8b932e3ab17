import Glibc

/// Reads a small file (configuration, web configuration, a /proc file) with the kernel's reason when it
/// cannot: "No such file or directory", "Permission denied", not a Foundation error code.
enum TextFile {
    struct ReadError: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    /// Larger files are refused: a configuration is a few kilobytes, and a wrong path (a log, a
    /// device) should not be read into memory whole.
    static let maxBytes = 4 << 20

    static func read(_ path: String) throws(ReadError) -> String {
        String(decoding: try bytes(path), as: UTF8.self)
    }

    /// The file's bytes, with the same bound and errors.
    static func bytes(_ path: String) throws(ReadError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadError(description: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ReadError(description: String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT != S_IFDIR else { throw ReadError(description: "is a directory") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw ReadError(description: String(cString: strerror(errno))) }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= maxBytes else { throw ReadError(description: "larger than \(maxBytes >> 20) MiB") }
        }
        return bytes
    }
}
