import Foundation
import Testing

/// `scripts/run --demo`'s core, `scripts/demo`, with the test build's binary: doctor names each
/// of the three incidents, and every namespace the script created is gone afterwards, also when
/// it is interrupted.
@Suite(
    "scripts/demo", .serialized,
    .enabled(if: Tool.isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/iperf3"), "needs root (namespaces) and iperf3"))
struct DemoTests {
    static func namespaces(ofDemo pid: Int32) throws -> [String] {
        try Tool.run(["ip", "netns", "list"]).output.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
            .filter { $0.hasPrefix("pwdemo-\(pid)-") }
    }

    @Test func doctorNamesAllThreeIncidentsAndNothingIsLeft() throws {
        let process = Process()
        process.executableURL = Tool.path("scripts/demo")
        process.currentDirectoryURL = Tool.root
        process.environment = ProcessInfo.processInfo.environment.merging(["PATHWATCH_BIN": Tool.binary]) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let started = Date()
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        for kind in ["hairpin", "missing_subnet_route", "public_path_degraded"] { #expect(text.contains("[\(kind)]"), "\(kind):\n\(text)") }
        #expect(text.contains("frontend 10.0.9.9:80") || text.contains("10.0.9.9:80"), "\(text)")
        #expect(text.contains("ip route add 10.5.2.0/24 via 10.4.2.1 dev net1"), "\(text)")
        #expect(Date().timeIntervalSince(started) < 60, "the demo takes well under a minute")
        #expect(try Self.namespaces(ofDemo: process.processIdentifier).isEmpty)
    }

    @Test func anInterruptedDemoStillRemovesEverything() throws {
        let process = Process()
        // As from a terminal: the test runner's children start with SIGINT ignored, and a shell
        // cannot trap a signal that was ignored when it started.
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["--default-signal=INT", Tool.path("scripts/demo").path]
        process.currentDirectoryURL = Tool.root
        process.environment = ProcessInfo.processInfo.environment.merging(["PATHWATCH_BIN": Tool.binary]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        // Interrupted once the namespaces exist, while doctor runs.
        let deadline = Date().addingTimeInterval(20)
        while try Self.namespaces(ofDemo: pid).count < 11, Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
        #expect(try Self.namespaces(ofDemo: pid).count == 11, "the demo stages 11 namespaces")
        Thread.sleep(forTimeInterval: 0.5)
        kill(pid, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(try Self.namespaces(ofDemo: pid).isEmpty, "namespaces left after Ctrl-C")
    }
}
