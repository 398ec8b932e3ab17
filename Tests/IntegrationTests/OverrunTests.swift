import Foundation
import Testing

/// With a small receive queue and the agent paused (SIGSTOP), a burst of kernel events overruns the subscription:
/// the agent counts it, re-dumps, and its model matches the kernel afterwards.
@Suite("Netlink overruns", .serialized, .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct OverrunTests {
    @Test func aRouteBurstIsCountedAndReconciled() throws {
        try withNamespaces(["ovr", "peer"]) { nss in
            let (node, peer) = (nss[0], nss[1])
            try node.connect("net0", to: peer, "peer0", localAddress: "10.4.1.10/24", remoteAddress: "10.4.1.1/24")
            let agent = try AgentProcess(in: node, config: "netlink:\n  receiveBufferBytes: 65536\nconntrack:\n  enabled: false\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            var batch = ""
            for i in 0..<20_000 { batch += "route add 172.\(16 + i / 65536 % 16).\(i / 256 % 256).\(i % 256)/32 via 10.4.1.1\n" }
            // The agent is paused while the burst lands, as a slow consumer would be: the kernel
            // must drop events for it, whatever the machine's speed.
            agent.signal(SIGSTOP)
            try node.exec(["ip", "-batch", "-"], input: batch)
            agent.signal(SIGCONT)
            #expect(
                try eventually(within: 5, every: 0.2) {
                    (try agent.metrics().value("pathwatch_netlink_overruns_total", ["source": "rtnetlink"]) ?? 0) >= 1
                }, "a 20k-route burst overruns a 64 KiB queue")
            #expect(
                try eventually(within: 10, every: 0.2) {
                    let exported = try agent.metrics().value("pathwatch_routes", ["family": "ipv4"]) ?? -1
                    return Int(exported) == (try IPView.routeCount(node, family: 4))
                }, "the model matches `ip route` after the re-dump")
            try node.exec(["ip", "route", "flush", "via", "10.4.1.1"])
            #expect(
                try eventually(within: 10, every: 0.2) {
                    let exported = try agent.metrics().value("pathwatch_routes", ["family": "ipv4"]) ?? -1
                    return Int(exported) == (try IPView.routeCount(node, family: 4))
                })
        }
    }

    /// The neighbour subscription has its own socket: 600 neighbour resolutions started while
    /// the agent is paused overrun it (each new INCOMPLETE entry is announced; an entry added by hand
    /// as FAILED is not), and the re-dump of the neighbour tables, not of the routes, reconciles
    /// the view with `ip neigh`. 600 stays under the kernel's default `gc_thresh3` (1024), which
    /// is not namespaced and so is left alone.
    @Test func aNeighbourBurstIsCountedAndReconciled() throws {
        try withNamespaces(["nbovr", "peer"]) { nss in
            let (node, peer) = (nss[0], nss[1])
            try node.connect("net0", to: peer, "peer0", localAddress: "10.4.1.10/24", remoteAddress: "10.4.1.1/24")
            try node.ip("addr", "add", "10.8.0.10/22", "dev", "net0")  // on-link, nobody home
            // Probes 4 s apart: the 600 entries stay INCOMPLETE for 12 s, past the check. FAILED ones
            // would be purged by the kernel's garbage collector (its thresholds are not
            // namespaced and 600 is above gc_thresh1) at a moment of its choosing, which once
            // emptied the table before the check.
            try node.exec(["sysctl", "-qw", "net.ipv4.neigh.net0.retrans_time_ms=4000"])
            let agent = try AgentProcess(in: node, config: "netlink:\n  receiveBufferBytes: 65536\nconntrack:\n  enabled: false\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            let unanswered = {
                let failed = try node.exec(["ip", "neigh", "show", "nud", "failed"])
                let incomplete = try node.exec(["ip", "neigh", "show", "nud", "incomplete"])
                return (failed + "\n" + incomplete).split(separator: "\n").filter { !$0.isEmpty }.count
            }
            let resyncs = try agent.metrics().value("pathwatch_netlink_resyncs_total", ["source": "rtnetlink"]) ?? 0
            agent.signal(SIGSTOP)
            try node.exec([
                "python3", "-c",
                "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nfor i in range(600):\n    s.sendto(b'x', ('10.8.%d.%d' % (1 + i // 250, 1 + i % 250), 9))",
            ])
            Thread.sleep(forTimeInterval: 5)  // 600 INCOMPLETE entries announced: 600 events queued
            agent.signal(SIGCONT)
            #expect(
                try eventually(within: 5, every: 0.2) {
                    (try agent.metrics().value("pathwatch_netlink_overruns_total", ["source": "rtnetlink"]) ?? 0) >= 1
                }, "600 neighbour events overrun a 64 KiB queue; log:\n\(agent.log)")
            #expect(
                try eventually(within: 10, every: 0.2) {
                    let exported = try agent.metrics().value("pathwatch_neighbour_entries") ?? -1
                    return Int(exported) == (try unanswered()) && exported > 0
                },
                "the view matches `ip neigh` after the re-dump: \(String(describing: try? agent.metrics().value("pathwatch_neighbour_entries"))) kept, \(String(describing: try? unanswered())) in the kernel"
            )
            #expect(
                try agent.metrics().value("pathwatch_netlink_resyncs_total", ["source": "rtnetlink"]) == resyncs,
                "a neighbour overrun re-dumps the neighbour tables only, not the routes")
            try node.exec(["ip", "neigh", "flush", "dev", "net0"])
            #expect(try eventually(within: 10, every: 0.2) { try agent.metrics().value("pathwatch_neighbour_entries") == 0 })
        }
    }

    @Test func aConntrackBurstIsCountedAndReconciled() throws {
        try withNamespace("ctovr") { ns in
            let agent = try AgentProcess(in: ns, config: "conntrack:\n  receiveBufferBytes: 65536\n")
            defer { agent.stop() }
            try ns.activateConntrack()
            try agent.waitUntilReady()
            // 5,000 UDP flows in a few tens of milliseconds: a fresh socket, so a fresh source port, each.
            agent.signal(SIGSTOP)
            defer { agent.signal(SIGCONT) }
            try ns.exec([
                "python3", "-c",
                "import socket\nfor _ in range(5000):\n    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('127.0.0.1', 9)); s.close()",
            ])
            agent.signal(SIGCONT)
            #expect(
                try eventually(within: 5, every: 0.2) {
                    (try agent.metrics().value("pathwatch_netlink_overruns_total", ["source": "conntrack"]) ?? 0) >= 1
                }, "the burst overruns a 64 KiB queue")
            #expect(
                try eventually(within: 10, every: 0.2) {
                    let model = try agent.metrics().value("pathwatch_conntrack_flows") ?? -1
                    let kernel = try ns.exec(["conntrack", "-C"]).trimmingCharacters(in: .whitespacesAndNewlines)
                    return model == Double(kernel)
                }, "the model matches `conntrack -C` after the re-dump")
            #expect(
                try eventually(within: 3, every: 0.2) { try agent.metrics().value("pathwatch_conntrack_resync_pending") == 0 },
                "no re-dump pending once reconciled")
            #expect(
                (try agent.metrics().value("pathwatch_netlink_resyncs_total", ["source": "conntrack"]) ?? 0) >= 2,
                "start-up and after the burst")
        }
    }
}
