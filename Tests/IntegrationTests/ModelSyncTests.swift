import Foundation
import Testing

/// The real agent in a namespace follows every change the kernel makes, within 1 s, and its
/// model matches what `ip` reports.
@Suite(
    "Model stays in step with the kernel", .serialized,
    .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct ModelSyncTests {
    @Test func addressesBothFamilies() throws {
        try withNamespaces(["node", "peer"]) { nss in
            let (node, peer) = (nss[0], nss[1])
            try node.connect("net0", to: peer, "peer0", localAddress: "10.4.1.10/24", remoteAddress: "10.4.1.1/24")
            let agent = try AgentProcess(in: node, config: "conntrack:\n  enabled: false\n")
            defer { agent.stop() }
            try agent.waitUntilReady()

            try node.ip("addr", "add", "10.4.1.11/24", "dev", "net0")
            try node.ip("-6", "addr", "add", "fd00:4:1::10/64", "dev", "net0", "nodad")
            #expect(
                try eventually(within: 1) {
                    let state = try StateDocument.fetch(agent)
                    return state.addresses.contains { $0.address == "10.4.1.11" && $0.interface == "net0" }
                        && state.addresses.contains { $0.address == "fd00:4:1::10" && $0.prefixLength == 64 }
                })
            #expect(
                try eventually(within: 1) {
                    let m = try agent.metrics()
                    let exported =
                        (m.value("pathwatch_addresses", ["family": "ipv4"]) ?? 0)
                        + (m.value("pathwatch_addresses", ["family": "ipv6"]) ?? 0)
                    return Int(exported) == (try IPView.addressCount(node))
                })

            try node.ip("addr", "del", "10.4.1.11/24", "dev", "net0")
            try node.ip("-6", "addr", "del", "fd00:4:1::10/64", "dev", "net0")
            #expect(
                try eventually(within: 1) {
                    let state = try StateDocument.fetch(agent)
                    return !state.addresses.contains { $0.address == "10.4.1.11" || $0.address == "fd00:4:1::10" }
                })
            #expect(try eventually(within: 1) { try StateDocument.fetch(agent).addresses.count == IPView.addressCount(node) })
            #expect(try StateDocument.fetch(agent).localEndpoints.contains("10.4.1.10"))
        }
    }

    @Test func routesInOtherTablesMultipathAndIPv6() throws {
        try withNamespaces(["node", "peer"]) { nss in
            let (node, peer) = (nss[0], nss[1])
            try node.connect("net0", to: peer, "peer0", localAddress: "10.4.1.10/24", remoteAddress: "10.4.1.1/24")
            try node.ip("-6", "addr", "add", "fd00:4:1::10/64", "dev", "net0", "nodad")
            let agent = try AgentProcess(in: node, config: "conntrack:\n  enabled: false\n")
            defer { agent.stop() }
            try agent.waitUntilReady()

            try node.ip("route", "add", "10.5.2.0/24", "via", "10.4.1.1", "dev", "net0", "table", "100", "proto", "static")
            try node.ip(
                "route", "add", "10.6.0.0/16", "nexthop", "via", "10.4.1.1", "weight", "1", "nexthop", "via", "10.4.1.2", "weight", "3")
            try node.ip("-6", "route", "add", "fd00:5::/64", "via", "fd00:4:1::1", "dev", "net0", "metric", "100")
            try node.ip("rule", "add", "from", "10.4.2.10", "lookup", "100", "priority", "100")
            #expect(
                try eventually(within: 1) {
                    let state = try StateDocument.fetch(agent)
                    let table100 = state.routes.first { $0.destination == "10.5.2.0/24" }
                    let multipath = state.routes.first { $0.destination == "10.6.0.0/16" }
                    let v6 = state.routes.first { $0.destination == "fd00:5::/64" }
                    return table100?.table == 100 && table100?.protocolName == "static"
                        && multipath?.nextHops.map(\.gateway) == ["10.4.1.1", "10.4.1.2"]
                        && multipath?.nextHops.map(\.weight) == [1, 3]
                        && v6?.nextHops.first?.gateway == "fd00:4:1::1" && v6?.priority == 100
                        && state.rules.contains { $0.priority == 100 && $0.table == 100 && $0.source == "10.4.2.10/32" }
                })
            #expect(try eventually(within: 1) { try modelMatchesIP(agent, node) })

            try node.ip("route", "del", "10.5.2.0/24", "table", "100")
            try node.ip("route", "del", "10.6.0.0/16")
            try node.ip("-6", "route", "del", "fd00:5::/64")
            try node.ip("rule", "del", "priority", "100")
            #expect(
                try eventually(within: 1) {
                    let state = try StateDocument.fetch(agent)
                    return !state.routes.contains { ["10.5.2.0/24", "10.6.0.0/16", "fd00:5::/64"].contains($0.destination) }
                        && !state.rules.contains { $0.priority == 100 }
                })
            #expect(try eventually(within: 1) { try modelMatchesIP(agent, node) })
        }
    }

    /// IPv4 drops a down link's routes without telling anyone; the agent must notice anyway.
    @Test func linkDownAndUpAndPodRoutes() throws {
        try withNamespaces(["node", "pod"]) { nss in
            let (node, pod) = (nss[0], nss[1])
            try node.connect("eni0", to: pod, "eth0", localAddress: "169.254.1.1/32", remoteAddress: "10.0.1.21/32")
            try node.ip("route", "add", "10.0.1.21/32", "dev", "eni0", "scope", "link")
            let agent = try AgentProcess(in: node, config: "conntrack:\n  enabled: false\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try StateDocument.fetch(agent).localEndpoints.contains("10.0.1.21"), "a pod /32 on a veth is node-local")
            #expect(try agent.metrics().value("pathwatch_link_up", ["interface": "eni0"]) == 1)

            try node.ip("link", "set", "eni0", "down")
            #expect(
                try eventually(within: 1) {
                    let state = try StateDocument.fetch(agent)
                    return state.links.first { $0.name == "eni0" }?.up == false
                        && !state.routes.contains { $0.destination == "10.0.1.21/32" }
                        && !state.localEndpoints.contains("10.0.1.21")
                })
            #expect(try eventually(within: 1) { try agent.metrics().value("pathwatch_link_up", ["interface": "eni0"]) == 0 })
            #expect(try eventually(within: 1) { try modelMatchesIP(agent, node) })

            try node.ip("link", "set", "eni0", "up")
            try node.ip("route", "add", "10.0.1.21/32", "dev", "eni0", "scope", "link")
            #expect(try eventually(within: 1) { try StateDocument.fetch(agent).localEndpoints.contains("10.0.1.21") })

            try node.ip("link", "del", "eni0")
            #expect(
                try eventually(within: 1) {
                    let state = try StateDocument.fetch(agent)
                    return !state.links.contains { $0.name == "eni0" } && !state.localEndpoints.contains("10.0.1.21")
                })
            #expect(try eventually(within: 1) { try agent.metrics().value("pathwatch_link_up", ["interface": "eni0"]) == nil })
        }
    }

    @Test func interfaceCountersFollowTraffic() throws {
        try withNamespaces(["node", "peer"]) { nss in
            let (node, peer) = (nss[0], nss[1])
            try node.connect("net0", to: peer, "peer0", localAddress: "10.4.1.10/24", remoteAddress: "10.4.1.1/24")
            let agent = try AgentProcess(in: node, config: "conntrack:\n  enabled: false\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            let baseline = try agent.metrics()
            let rx0 = baseline.value("pathwatch_link_rx_bytes_total", ["interface": "net0"]) ?? -1
            let tx0 = baseline.value("pathwatch_link_tx_packets_total", ["interface": "net0"]) ?? -1
            #expect(rx0 >= 0)
            try node.exec(["ping", "-c", "5", "-i", "0.01", "-s", "1000", "-W", "1", "10.4.1.1"])
            #expect(
                try eventually(within: 1) {
                    let m = try agent.metrics()
                    return (m.value("pathwatch_link_rx_bytes_total", ["interface": "net0"]) ?? 0) >= rx0 + 5 * 1000
                        && (m.value("pathwatch_link_tx_packets_total", ["interface": "net0"]) ?? 0) >= tx0 + 5
                })
            // The exported counter is the kernel's own, read at scrape time: it lies between a
            // reading taken just before the scrape and one taken just after (IPv6 neighbour
            // traffic may move it in between).
            func kernelBytes() throws -> Double {
                Double(try node.exec(["cat", "/sys/class/net/net0/statistics/rx_bytes"]).trimmingCharacters(in: .whitespacesAndNewlines))
                    ?? -1
            }
            let before = try kernelBytes()
            let exported = try agent.metrics().value("pathwatch_link_rx_bytes_total", ["interface": "net0"]) ?? -2
            let after = try kernelBytes()
            #expect(before <= exported && exported <= after, "\(before) <= \(exported) <= \(after)")
        }
    }

    /// Compares the model with `ip` route, address and rule listings.
    func modelMatchesIP(_ agent: AgentProcess, _ ns: Namespace) throws -> Bool {
        let state = try StateDocument.fetch(agent)
        return try state.routes(family: "ipv4").count == IPView.routeCount(ns, family: 4)
            && state.routes(family: "ipv6").count == IPView.routeCount(ns, family: 6)
            && state.addresses.count == IPView.addressCount(ns)
            && state.rules.filter { $0.family == "ipv4" }.count == IPView.ruleCount(ns, family: 4)
            && state.rules.filter { $0.family == "ipv6" }.count == IPView.ruleCount(ns, family: 6)
    }
}
