import Foundation
import Testing

/// Issue 13: the pod hairpin on the nodes fleets run, one configuration per case: reverse-path
/// filtering 0/1/2 on the primary interface or on a secondary one with per-pod policy routing,
/// IPv4 and IPv6 (with and without firewalld's raw-table rpfilter), TCP and UDP. Where the
/// hairpin hurts it is named within a second of the first packet; where the node's routing sends
/// the answer back through the balancer (a secondary interface with loose filtering), the
/// connection works and nothing is reported.
@Suite(
    "Hairpin matrix", .serialized,
    .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct HairpinMatrixTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var arrival: GhostsLab.Arrival
        var rpFilter = 0
        var ipv6 = false
        var rawRpfilter = false
        var udp = false
        /// Whether the connection fails on this node (and so must be named).
        var hurts = true

        var testDescription: String {
            "\(ipv6 ? "IPv6" : "IPv4") \(udp ? "UDP" : "TCP") via \(arrival.rawValue)"
                + (ipv6 ? (rawRpfilter ? " with raw rpfilter" : "") : " rp_filter=\(rpFilter)")
        }
    }

    static let cases: [Case] = [
        Case(arrival: .primary, rpFilter: 0), Case(arrival: .primary, rpFilter: 1), Case(arrival: .primary, rpFilter: 2),
        Case(arrival: .secondary, rpFilter: 1), Case(arrival: .secondary, rpFilter: 0, hurts: false),
        Case(arrival: .secondary, rpFilter: 2, hurts: false), Case(arrival: .primary, rpFilter: 1, udp: true),
        Case(arrival: .secondary, rpFilter: 1, udp: true), Case(arrival: .primary, ipv6: true),
        Case(arrival: .primary, ipv6: true, rawRpfilter: true), Case(arrival: .secondary, ipv6: true, rawRpfilter: true),
    ]

    @Test(arguments: cases) func aPodHairpinIsNamedWhereItHurts(_ c: Case) throws {
        try withNamespaces(GhostsLab.labels) { nss in
            let lab = try GhostsLab(nss, arrival: c.arrival, rpFilter: c.rpFilter, rawRpfilter: c.rawRpfilter)
            let server =
                c.udp
                ? ["socat", "UDP6-RECVFROM:5353,fork,ipv6only=0", "SYSTEM:echo ok"]
                : ["socat", "TCP6-LISTEN:8080,fork,reuseaddr,ipv6only=0", "SYSTEM:echo hello"]
            let listener = try BackgroundProcess(server, in: lab.podB, name: "server")
            defer { listener.stop() }
            let agent = try AgentProcess(in: lab.node)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(
                try eventually(within: 3) { try agent.get("/readyz").body.contains("self-sourced SYN detection: probe") },
                "log:\n\(agent.log)")
            let frontend = c.ipv6 ? "[fd00:9::9]" : "10.0.9.9"
            let target = c.udp ? "UDP\(c.ipv6 ? 6 : 4):\(frontend):53" : "TCP\(c.ipv6 ? 6 : 4):\(frontend):80,connect-timeout=2"
            let client = try BackgroundProcess(
                c.udp
                    ? ["sh", "-c", "for i in 1 2 3; do echo q; sleep 0.5; done | socat -T2 - \(target)"]
                    : ["socat", "-u", "OPEN:/dev/null", target], in: lab.podA, name: "client")
            defer { client.stop() }
            let named = try eventually(within: c.hurts ? 1 : 2.5, every: 0.05) { try !agent.findings(kind: "hairpin").isEmpty }
            if c.hurts {
                #expect(named, "named within a second of the first packet; log:\n\(agent.log)")
                let finding = try #require(try agent.findings(kind: "hairpin").first)
                let evidence = try #require(finding["evidence"] as? [String: Any])
                #expect(evidence["frontend"] as? String == "\(frontend):\(c.udp ? 53 : 80)", "\(evidence)")
                #expect((evidence["sourceEndpoints"] as? [String])?.first?.contains(c.ipv6 ? "fd00:1::20" : "10.0.1.20") == true)
            } else {
                client.process.waitUntilExit()
                #expect(client.process.terminationStatus == 0, "the answer goes back through the balancer: it works")
                let reported = try agent.findings(kind: "hairpin")
                #expect(!named, "a working hairpin is not reported: \(reported)")
            }
            #expect(try agent.findings(kind: "self_sourced_syn_drop").isEmpty, "the node's own address is not involved")
        }
    }
}
