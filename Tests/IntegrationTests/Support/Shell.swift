import Foundation

/// Runs commands for the namespace tests and reports failures with their output.
enum Shell {
    struct Failure: Error, CustomStringConvertible {
        var command: [String]
        var status: Int32
        var output: String
        var description: String { "`\(command.joined(separator: " "))` exited \(status): \(output)" }
    }

    /// Runs `command` to completion; throws when it exits non-zero (unless `check` is false).
    @discardableResult
    static func run(_ command: [String], input: String? = nil, check: Bool = true) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        if check, process.terminationStatus != 0 {
            throw Failure(command: command, status: process.terminationStatus, output: text)
        }
        return text
    }

    static func exists(_ tool: String) -> Bool {
        (try? run(["sh", "-c", "command -v \(tool)"])) != nil
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held. The bound
/// is what the test asserts ("within 1 s"), not a measurement.
func eventually(within timeout: Double, every interval: Double = 0.05, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: interval)
    } while Date() < deadline
    return try condition()
}
