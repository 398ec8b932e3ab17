import Foundation
import Testing

/// Issue 13: the pod hairpin on the nodes fleets run, one configuration per case: reverse-path
/// filtering 0/1/2 on the primary interface or on a secondary one with per-pod policy routing,
/// IPv4 and IPv6 (with and without firewalld's raw-table rpfilter), TCP and UDP: named within a
/// second of the first packet, by the probe where the packet dies before conntrack confirms it
/// (rp_filter=1, the raw rpfilter) and by conntrack where the server pod's answer reaches the
/// client pod directly and is reset. The working hairpins (SNAT at the balancer, answers that
/// come back) are `HairpinTests` and `HairpinHealthyNodeTests`.
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

        var testDescription: String {
            "\(ipv6 ? "IPv6" : "IPv4") \(udp ? "UDP" : "TCP") via \(arrival.rawValue)"
                + (ipv6 ? (rawRpfilter ? " with raw rpfilter" : "") : " rp_filter=\(rpFilter)")
        }
    }

    static let cases: [Case] = [
        Case(arrival: .primary, rpFilter: 0), Case(arrival: .primary, rpFilter: 1), Case(arrival: .primary, rpFilter: 2),
        Case(arrival: .secondary, rpFilter: 0), Case(arrival: .secondary, rpFilter: 1), Case(arrival: .secondary, rpFilter: 2),
        Case(arrival: .secondary, rpFilter: 1, udp: true), Case(arrival: .primary, ipv6: true),
        Case(arrival: .secondary, ipv6: true, rawRpfilter: true),
    ]

    @Test(arguments: cases) func aPodHairpinIsNamedWithinASecond(_ c: Case) throws {
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
            #expect(
                try eventually(within: 1, every: 0.05) { try !agent.findings(kind: "hairpin").isEmpty },
                "named within a second of the first packet; log:\n\(agent.log)")
            let finding = try #require(try agent.findings(kind: "hairpin").first)
            let evidence = try #require(finding["evidence"] as? [String: Any])
            #expect(evidence["frontend"] as? String == "\(frontend):\(c.udp ? 53 : 80)", "\(evidence)")
            #expect(evidence["sourceEndpoints"] as? [String] == [c.ipv6 ? "fd00:1::20" : "10.0.1.20"], "\(evidence)")
            #expect(try agent.findings(kind: "self_sourced_syn_drop").isEmpty, "the node's own address is not involved")
        }
    }
}
