import Foundation

/// A helper process a test starts (a listener, `conntrack -E`, Prometheus) and ends by PID.
final class BackgroundProcess {
    let process = Process()
    let outputFile: URL

    init(_ command: [String], in namespace: Namespace, name: String) throws {
        outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("pathwatch-test-\(namespace.name)-\(name).out")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: outputFile)
        // The test runner's threads block SIGTERM and a child inherits the mask: unblocked here,
        // or `stop()` waits 5 s for every process and then kills it.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["--default-signal=TERM", "/usr/bin/ip", "netns", "exec", namespace.name] + command
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: outputFile)
    }

    /// SIGTERM (then SIGKILL after 5 s) and wait.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    var output: String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }
}
