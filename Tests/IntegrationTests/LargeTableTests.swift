import Foundation
import Testing

/// The agent starting on a node that already has a million routes (a big BGP or pod-route node):
/// it must become ready within a bound, export the kernel's count, keep applying route events
/// afterwards, and its peak memory is recorded in the test output.
@Suite(
    "A million routes at start-up", .serialized,
    .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct LargeTableTests {
    static let routes = 1_000_000

    @Test func theAgentStartsWithAMillionRoutes() throws {
        try withNamespaces(["big", "peer"]) { nss in
            let (node, peer) = (nss[0], nss[1])
            try node.connect("net0", to: peer, "peer0", localAddress: "10.255.255.1/24", remoteAddress: "10.255.255.2/24")
            let loaded = try Self.loadRoutes(into: node)
            let kernel = try Self.kernelRouteCount(node)
            #expect(kernel >= Self.routes, "the kernel lists every route added")

            let started = Date()
            let agent = try AgentProcess(in: node, config: "conntrack:\n  enabled: false\n")
            defer { agent.stop() }
            try agent.waitUntilReady(timeout: 60)
            let ready = Date().timeIntervalSince(started)

            func exported() throws -> Int { Int(try agent.metrics().value("pathwatch_routes", ["family": "ipv4"]) ?? -1) }
            let atReady = try exported()
            #expect(atReady == kernel, "the model holds what `ip route show table all` lists (\(atReady) exported, \(kernel) listed)")

            // Events after the big dump are still applied, in both directions.
            try node.ip("route", "add", "192.0.2.0/24", "via", "10.255.255.2", "table", "100")
            let added = try eventually(within: 5, every: 0.2) { try exported() == kernel + 1 }
            let afterAdd = try exported()
            #expect(added, "an added route reaches the model (\(afterAdd) exported, \(kernel + 1) expected)")
            try node.ip("route", "del", "192.0.2.0/24", "table", "100")
            #expect(try eventually(within: 5, every: 0.2) { try exported() == kernel }, "a deleted route leaves the model")
            #expect(try agent.metrics().value("pathwatch_netlink_decode_errors_total", ["source": "rtnetlink"]) ?? 0 == 0)

            let peak = try Self.peakRSSMiB(of: agent)
            print(
                String(
                    format: "LargeTableTests: %d IPv4 routes loaded in %.1f s; agent ready in %.1f s; peak RSS (VmHWM) %.0f MiB",
                    kernel, loaded, ready, peak))
        }
    }

    /// Half the routes in `main`, half in table 100, /32s via the peer, loaded with `ip -batch`
    /// from a file awk writes (a million lines take it well under a second). Returns the seconds taken.
    static func loadRoutes(into node: Namespace) throws -> Double {
        let batch = FileManager.default.temporaryDirectory.appendingPathComponent("pathwatch-\(node.name)-routes.batch")
        defer { try? FileManager.default.removeItem(at: batch) }
        try Shell.run([
            "sh", "-c",
            """
            awk -v n=\(routes) 'BEGIN { for (i = 1; i <= n; i++) \
            printf "route add 10.%d.%d.%d/32 via 10.255.255.2 dev net0%s\\n", int(i / 65536) % 255, int(i / 256) % 256, i % 256, \
            (i % 2 ? " table 100" : "") }' > '\(batch.path)'
            """,
        ])
        let start = Date()
        try node.ip("-batch", batch.path)
        return Date().timeIntervalSince(start)
    }

    /// `ip -4 -o route show table all | wc -l`: counting lines, as parsing `ip -j` output for a
    /// million routes would take longer than the agent.
    static func kernelRouteCount(_ node: Namespace) throws -> Int {
        let output = try Shell.run(["sh", "-c", "ip -n '\(node.name)' -4 -o route show table all | wc -l"])
        return Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// `VmHWM` of the agent (`ip netns exec` execs it, so the PID is the agent's).
    static func peakRSSMiB(of agent: AgentProcess) throws -> Double {
        let status = try String(contentsOfFile: "/proc/\(agent.process.processIdentifier)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kib = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return -1 }
        return kib / 1024
    }
}
