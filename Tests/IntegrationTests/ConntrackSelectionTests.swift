import Foundation
import Testing

/// Kernel-side selection of conntrack events: the flows of remote clients (a server's inbound
/// load, read by no detector) never reach the agent, while every flow a node-local endpoint
/// starts does, including those of a pod that appears after start-up.
@Suite(
    "Conntrack event selection", .serialized,
    .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them")
)
struct ConntrackSelectionTests {
    /// UDP datagrams from `source` to `destination`:9, one flow each: source ports 20000,
    /// 20001, … (an ephemeral port could repeat and make two datagrams one flow).
    func udpFlows(_ count: Int, from source: String, to destination: String, in ns: Namespace, gapSeconds: Double = 0) throws {
        try ns.exec([
            "python3", "-c",
            """
            import socket, time
            for i in range(\(count)):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('\(source)', 20000 + i)); s.sendto(b'x', ('\(destination)', 9)); s.close()
                time.sleep(\(gapSeconds))
            """,
        ])
    }

    /// Resolves the neighbour both ways first, so the first datagram of a burst is not the one
    /// that waits for ARP (and the kernel's flow count matches the datagrams sent).
    func warm(_ a: Namespace, _ b: Namespace, _ addressOfB: String, _ addressOfA: String) throws {
        try a.exec(["ping", "-c", "1", "-W", "1", addressOfB])
        try b.exec(["ping", "-c", "1", "-W", "1", addressOfA])
        Thread.sleep(forTimeInterval: 0.2)
    }

    func newEvents(_ agent: AgentProcess) throws -> Double {
        try agent.metrics().value("pathwatch_conntrack_events_total", ["type": "new"]) ?? -1
    }

    @Test func remoteClientsStayInTheKernelAndLocalSourcesArriveEveryOne() throws {
        try withNamespaces(["sel-node", "sel-client", "sel-pod"]) { nss in
            let (node, client, pod) = (nss[0], nss[1], nss[2])
            try node.connect("eth0", to: client, "eth0", localAddress: "10.0.5.1/24", remoteAddress: "10.0.5.2/24")
            try node.activateConntrack()
            let agent = try AgentProcess(in: node)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(
                try eventually(within: 2) { try agent.metrics().value("pathwatch_conntrack_filter_prefixes", ["family": "ipv4"]) == 1 },
                "the node's one address is the selection")

            try warm(node, client, "10.0.5.2", "10.0.5.1")

            // A server's inbound load: 2,000 flows from a remote client. The kernel tracks them
            // all; none crosses into the agent.
            let before = try newEvents(agent)
            try udpFlows(2000, from: "10.0.5.2", to: "10.0.5.1", in: client)
            var kernel = 0.0
            #expect(
                try eventually(within: 2) {
                    kernel = try agent.metrics().value("pathwatch_conntrack_flows") ?? 0
                    return kernel >= 2000
                }, "the kernel tracks them (\(kernel))")
            let afterFlood = try newEvents(agent)
            #expect(afterFlood == before, "no remote-source event reached the agent (\(afterFlood - before))")

            // Flows the node itself starts: every one arrives and is tracked.
            try udpFlows(500, from: "10.0.5.1", to: "10.0.5.2", in: node)
            var seen = 0.0
            #expect(
                try eventually(within: 2) {
                    seen = try newEvents(agent) - before
                    return seen == 500
                }, "every node-sourced flow arrived (\(seen))")
            let tracked = try agent.metrics().value("pathwatch_conntrack_tracked_flows") ?? 0
            #expect(tracked >= 500, "and is tracked (\(tracked))")

            // A pod wired in after start-up sends at once: its flows are let through from the
            // first one (the filter widens as the route appears, before the pod can send).
            try node.ip("link", "add", "eni-new", "type", "veth", "peer", "name", "eth0", "netns", pod.name)
            try node.ip("link", "set", "eni-new", "up")
            try pod.ip("addr", "add", "10.0.6.7/32", "dev", "eth0")
            try pod.ip("link", "set", "eth0", "up")
            try pod.ip("route", "add", "10.0.5.1", "dev", "eth0", "scope", "link")
            try node.exec(["sysctl", "-qw", "net.ipv4.conf.eni-new.proxy_arp=1"])
            let beforePod = try newEvents(agent)
            try node.ip("route", "add", "10.0.6.7/32", "dev", "eni-new", "scope", "link")
            try udpFlows(20, from: "10.0.6.7", to: "10.0.5.1", in: pod, gapSeconds: 0.02)
            var podFlows = 0.0
            #expect(
                try eventually(within: 2) {
                    podFlows = try newEvents(agent) - beforePod
                    return podFlows == 20
                }, "every flow of the new pod, the first one included (\(podFlows))")
            #expect(try agent.metrics().value("pathwatch_conntrack_filter_prefixes", ["family": "ipv4"]) == 2)
        }
    }

    @Test func withTheFilterOffEveryEventArrives() throws {
        try withNamespaces(["sel-node", "sel-client"]) { nss in
            let (node, client) = (nss[0], nss[1])
            try node.connect("eth0", to: client, "eth0", localAddress: "10.0.5.1/24", remoteAddress: "10.0.5.2/24")
            try node.activateConntrack()
            let agent = try AgentProcess(in: node, config: "conntrack:\n  kernelFilter: false\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            try warm(node, client, "10.0.5.2", "10.0.5.1")
            let before = try newEvents(agent)
            try udpFlows(300, from: "10.0.5.2", to: "10.0.5.1", in: client)
            var seen = 0.0
            #expect(
                try eventually(within: 2) {
                    seen = try newEvents(agent) - before
                    return seen >= 300  // and the node's own IPv6 neighbour discovery
                }, "every remote-source flow arrived (\(seen))")
            #expect(try agent.metrics().value("pathwatch_conntrack_filter_prefixes", ["family": "ipv4"]) == 0)
            let tracked = try agent.metrics().value("pathwatch_conntrack_tracked_flows") ?? -1
            #expect(
                tracked < 300, "remote-source flows are not tracked either way (\(tracked): the node's own pings and neighbour discovery)")
        }
    }

    @Test func theTableBoundHoldsAndIsCounted() throws {
        try withNamespaces(["sel-node", "sel-client"]) { nss in
            let (node, client) = (nss[0], nss[1])
            try node.connect("eth0", to: client, "eth0", localAddress: "10.0.5.1/24", remoteAddress: "10.0.5.2/24")
            try node.activateConntrack()
            let agent = try AgentProcess(in: node, config: "conntrack:\n  maxTrackedFlows: 1024\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            try warm(node, client, "10.0.5.2", "10.0.5.1")
            try udpFlows(1500, from: "10.0.5.1", to: "10.0.5.2", in: node)
            var untracked = 0.0
            #expect(
                try eventually(within: 2) {
                    untracked = try agent.metrics().value("pathwatch_conntrack_untracked_flows_total") ?? 0
                    return untracked == 477
                }, "1,500 flows and the warm-up ping against a bound of 1,024 (\(untracked))")
            #expect(try agent.metrics().value("pathwatch_conntrack_tracked_flows") == 1024)
            #expect(agent.log.contains("the conntrack table is at conntrack.maxTrackedFlows"), "said once in the log")
        }
    }
}
