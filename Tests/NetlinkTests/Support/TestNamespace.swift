import CNetlink
import Foundation
import Glibc

/// Privileged tests create namespaces, nft tables and netlink subscriptions.
let isRoot = getuid() == 0

struct CommandError: Error, CustomStringConvertible {
    var description: String
}

/// Runs a command (looked up in PATH) and waits; throws with its stderr when it fails.
@discardableResult
func runCommand(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CommandError(
            description: "\(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: err, as: UTF8.self))")
    }
    return String(decoding: out, as: UTF8.self)
}

/// A uniquely named network namespace for one test (vishvananda's `setUpNetlinkTest` idea).
/// Call ``delete()`` in a `defer` right after creating it.
final class TestNamespace: Sendable {
    let name: String

    init(prefix: String) throws {
        name = "\(prefix)-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
        try runCommand(["ip", "netns", "add", name])
    }

    func delete() {
        _ = try? runCommand(["ip", "netns", "delete", name])
    }

    /// Runs a command inside the namespace (`ip netns exec`).
    @discardableResult
    func exec(_ arguments: String...) throws -> String {
        try runCommand(["ip", "netns", "exec", name] + arguments)
    }

    /// Brings up `lo` and activates conntrack with an nft `ct` rule, as the fixture recorder does.
    func activateConntrack() throws {
        try exec("ip", "link", "set", "lo", "up")
        try exec("nft", "add", "table", "inet", "t")
        try exec("nft", "add", "chain", "inet", "t", "c", "{ type filter hook output priority 0; }")
        try exec("nft", "add", "rule", "inet", "t", "c", "ct", "state", "new", "counter")
    }

    /// Runs `body` on a new thread that first enters this namespace with `setns()`. Sockets it
    /// creates belong to the namespace; other threads (the test runner's) stay where they are.
    func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let path = "/var/run/netns/\(name)"
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(
                    with: Result {
                        let fd = open(path, O_RDONLY | O_CLOEXEC)
                        guard fd >= 0 else { throw CommandError(description: "open \(path): errno \(errno)") }
                        defer { close(fd) }
                        guard cnl_setns_net(fd) == 0 else { throw CommandError(description: "setns \(path): errno \(errno)") }
                        return try body()
                    })
            }
            thread.start()
        }
    }
}

/// The number of CPUs in `/sys/devices/system/cpu/possible` (e.g. `0-1` or `0,2-3`): what
/// the kernel iterates for per-CPU conntrack statistics.
func possibleCPUCount() throws -> Int {
    let text = try String(contentsOfFile: "/sys/devices/system/cpu/possible", encoding: .utf8)
    var count = 0
    for part in text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",") {
        let bounds = part.split(separator: "-").compactMap { Int($0) }
        count += bounds.count == 2 ? bounds[1] - bounds[0] + 1 : 1
    }
    return count
}

/// Minimal blocking TCP on 127.0.0.1 for traffic inside a test namespace.
enum LoopbackTCP {
    static func address(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    static func socketCall(_ name: String, _ result: Int32) throws -> Int32 {
        guard result >= 0 else { throw CommandError(description: "\(name): errno \(errno)") }
        return result
    }

    static func listen(port: UInt16) throws -> Int32 {
        let fd = try socketCall("socket", socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0))
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = address(port: port)
        _ = try socketCall(
            "bind",
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            })
        _ = try socketCall("listen", Glibc.listen(fd, 128))
        return fd
    }

    static func connect(port: UInt16) throws -> Int32 {
        let fd = try socketCall("socket", socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0))
        var address = address(port: port)
        _ = try socketCall(
            "connect",
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            })
        return fd
    }

    static func accept(_ listener: Int32) throws -> Int32 {
        try socketCall("accept", Glibc.accept(listener, nil, nil))
    }
}
