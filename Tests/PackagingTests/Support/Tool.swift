import Foundation
import Testing

/// Runs the operators' tools on the files under packaging/ and reports failures with their output.
enum Tool {
    struct Failure: Error, CustomStringConvertible {
        var command: [String]
        var status: Int32
        var output: String
        var description: String { "`\(command.joined(separator: " "))` exited \(status):\n\(output)" }
    }

    struct Missing: Error, CustomStringConvertible {
        var tool: String
        var description: String { "\(tool) is not installed: run scripts/setup (it installs every tool the suite uses)" }
    }

    /// The repository's root, from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static func read(_ relative: String) throws -> String { try String(contentsOf: path(relative), encoding: .utf8) }

    /// Throws `Missing` (a failure, never a skip) when `tool` is not on PATH.
    static func require(_ tool: String) throws {
        if (try? run(["sh", "-c", "command -v \(tool)"])) == nil { throw Missing(tool: tool) }
    }

    /// Runs `command` from the repository root; throws when it exits non-zero (unless `check` is false).
    @discardableResult
    static func run(
        _ command: [String], environment: [String: String] = [:], check: Bool = true, in directory: URL? = nil
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.currentDirectoryURL = directory ?? root
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        if check, process.terminationStatus != 0 {
            throw Failure(command: command, status: process.terminationStatus, output: text)
        }
        return (process.terminationStatus, text)
    }

    /// A fresh directory under the system's temporary directory; removed by `body`'s end.
    static func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pathwatch-packaging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(directory)
    }

    /// The debug `pathwatch` beside the test bundle (`swift build --build-tests` builds both).
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["PATHWATCH_BIN"] { return path }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent().appendingPathComponent("pathwatch").path
    }

    static var isRoot: Bool { getuid() == 0 }
}
