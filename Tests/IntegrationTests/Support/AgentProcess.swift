import Foundation
import Synchronization
import Testing

/// The real `pathwatch` binary, started inside a namespace and stopped by its PID.
final class AgentProcess {
    let namespace: Namespace
    let port: Int
    let process = Process()
    let logFile: URL
    let configFile: URL
    let controlSocket: String

    /// The binary beside the test bundle: `swift build --build-tests` builds both.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["PATHWATCH_BIN"] { return path }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent().appendingPathComponent("pathwatch").path
    }

    private static let nextPort = Mutex<Int>(19400)

    /// Starts the agent with `config` (YAML) and `arguments`, on a fresh port of `host` (loopback
    /// unless a test needs peers to reach it).
    init(in namespace: Namespace, config: String = "", arguments: [String] = [], host: String = "127.0.0.1") throws {
        self.namespace = namespace
        port = Self.nextPort.withLock { port in
            port += 1
            return port
        }
        // One directory per agent (its port), so two agents in one namespace have their own
        // control sockets: a live socket is never replaced.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pathwatch-test-\(namespace.name)-\(port)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        logFile = directory.appendingPathComponent("agent.log")
        configFile = directory.appendingPathComponent("config.yaml")
        controlSocket = directory.appendingPathComponent("control.sock").path
        try config.write(to: configFile, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ip")
        process.arguments =
            [
                "netns", "exec", namespace.name, Self.binary, "run", "--config", configFile.path, "--listen", "\(host):\(port)",
                "--log-format", "json", "--control-socket", controlSocket,
            ]
            + arguments
        let log = try FileHandle(forWritingTo: logFile)
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    deinit { stop() }

    /// SIGTERM, then wait; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// The log's last lines and the metrics the agent serves now, for a failed expectation's
    /// comment: a time bound missed on a loaded machine says what the agent was doing.
    func diagnosis(lines: Int = 30) -> Comment {
        let tail = log.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
        let pathwatch = ((try? get("/metrics").body) ?? "").split(separator: "\n").filter { $0.hasPrefix("pathwatch_") }
        return Comment(rawValue: "agent log (last \(lines) lines):\n\(tail)\nmetrics now:\n\(pathwatch.joined(separator: "\n"))")
    }

    /// GET a path on the agent, from inside its namespace. Returns (status, body).
    func get(_ path: String) throws -> (status: Int, body: String) {
        let output = try namespace.exec(
            ["curl", "-s", "-m", "5", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"], check: false)
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        guard let last = lines.last, let status = Int(last) else { return (0, output) }
        return (status, lines.dropLast().joined(separator: "\n"))
    }

    /// Waits until `/readyz` answers 200 (the first full dump is in).
    func waitUntilReady(timeout: Double = 15) throws {
        let ready = eventually(within: timeout, every: 0.1) {
            guard process.isRunning else { return false }
            return (try? get("/readyz").status) == 200
        }
        if !ready { throw AgentNotReady(log: log) }
    }

    struct AgentNotReady: Error, CustomStringConvertible {
        var log: String
        var description: String { "the agent did not become ready; its log:\n\(log)" }
    }

    /// `pathwatch autofix MODE` against this agent; returns the command's output and status.
    @discardableResult
    func switchAutofix(_ mode: String) throws -> String {
        try Shell.run([Self.binary, "autofix", mode, "--socket", controlSocket])
    }

    /// The open findings of one kind, decoded loosely.
    func findings(kind: String) throws -> [[String: Any]] {
        let body = try get("/findings").body
        let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return (json?["findings"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == kind }
    }

    /// The current `/metrics`, parsed.
    func metrics() throws -> Metrics { Metrics(text: try get("/metrics").body) }
}

/// A parsed Prometheus text exposition: `series["name{label=\"v\"}"] = value`.
struct Metrics {
    var series: [String: Double] = [:]
    let text: String

    init(text: String) {
        self.text = text
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            series[String(line[..<space])] = value
        }
    }

    subscript(_ key: String) -> Double? { series[key] }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        if labels.isEmpty { return series[name] }
        let rendered = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",")
        if let v = series["\(name){\(rendered)}"] { return v }
        // Label order in the exposition is the registration order; match regardless of it.
        for (key, v) in series where key.hasPrefix(name + "{") {
            let body = key.dropFirst(name.count + 1).dropLast()
            let pairs = Set(body.split(separator: ",").map(String.init))
            if pairs == Set(labels.map { "\($0.key)=\"\($0.value)\"" }) { return v }
        }
        return nil
    }
}
