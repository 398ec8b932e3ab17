import Foundation
import Testing

/// Issue 13: the pod hairpin on the nodes fleets run, one configuration per case: reverse-path
/// filtering 0/1/2 on the primary interface or on a secondary one with per-pod policy routing,
/// IPv4 and IPv6 (with and without a raw-table rpfilter: firewalld's nft rule for IPv6,
/// `iptables -m rpfilter` for IPv4), TCP and UDP: named within a second of the first packet, by
/// the probe where the packet dies before conntrack confirms it (rp_filter=1 at once, a raw
/// rpfilter once conntrack has not confirmed its flow) and by conntrack where the server pod's
/// answer reaches the client pod directly and is reset. Where the answer goes back through the
/// balancer (connection-marked policy routing) the hairpin works and nothing is raised, though
/// the probe logs the packet. Other working hairpins (SNAT at the balancer) are `HairpinTests`
/// and `HairpinHealthyNodeTests`.
///
/// One lab and one agent serve every case (``SharedGhostsLab``): each case applies its
/// setting, talks to its own frontend (10.0.9.N, fd00:9::N) from its own source port, and looks
/// only at that frontend's finding.
@Suite(
    "Hairpin matrix", .serialized,
    .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"), SharedGhostsLab.Scope())
struct HairpinMatrixTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var setting: GhostsLab.Setting
        var ipv6 = false
        var udp = false
        /// Its frontend's last byte and its client's source port: unique per case.
        var number = 0

        init(
            _ arrival: GhostsLab.Arrival, rpFilter: Int = 0, ipv6: Bool = false, udp: Bool = false, raw: Bool = false, marked: Bool = false
        ) {
            setting = GhostsLab.Setting(
                arrival: arrival, rpFilter: rpFilter, rawRpfilter: raw && ipv6, iptablesRpfilter: raw && !ipv6,
                answersThroughBalancer: marked)
            self.ipv6 = ipv6
            self.udp = udp
        }

        /// A working hairpin: nothing to report.
        var healthy: Bool { setting.answersThroughBalancer }

        var testDescription: String {
            "\(ipv6 ? "IPv6" : "IPv4") \(udp ? "UDP" : "TCP") via \(setting.arrival.rawValue)"
                + (ipv6 ? "" : " rp_filter=\(setting.rpFilter)")
                + (setting.rawRpfilter || setting.iptablesRpfilter ? " with raw rpfilter" : "")
                + (healthy ? ", answered through the balancer" : "")
        }
    }

    static let cases: [Case] = [
        Case(.primary, rpFilter: 0), Case(.primary, rpFilter: 1), Case(.primary, rpFilter: 2),
        Case(.secondary, rpFilter: 0), Case(.secondary, rpFilter: 1), Case(.secondary, rpFilter: 2),
        Case(.secondary, rpFilter: 1, udp: true), Case(.primary, ipv6: true), Case(.secondary, ipv6: true, raw: true),
        // Raw-table rpfilter under loose or no routing check: dies before conntrack confirms it.
        Case(.secondary, rpFilter: 2, raw: true), Case(.primary, rpFilter: 0, raw: true),
        // Policy routing sends the answer back through the balancer: the hairpin works.
        Case(.secondary, ipv6: true, marked: true), Case(.secondary, rpFilter: 2, marked: true),
    ].enumerated().map { index, c in
        var c = c
        c.number = 10 + index
        return c
    }

    @Test(arguments: cases) func aPodHairpinIsNamedWithinASecondAndAWorkingOneIsNot(_ c: Case) throws {
        let shared = try #require(SharedGhostsLab.current, "the suite's scope provides the lab")
        let (lab, agent) = (shared.lab, shared.agent)
        try lab.apply(c.setting)
        let frontend = c.ipv6 ? "[fd00:9::\(c.number)]" : "10.0.9.\(c.number)"
        let port = 41000 + c.number
        let target =
            c.udp
            ? "UDP\(c.ipv6 ? 6 : 4):\(frontend):53,sourceport=\(port)"
            : "TCP\(c.ipv6 ? 6 : 4):\(frontend):80,connect-timeout=2,sourceport=\(port)"
        let confirmedBefore = try agent.metrics().value("pathwatch_syn_probe_confirmations_total", ["result": "confirmed"]) ?? 0
        func finding() throws -> [String: Any]? {
            try agent.findings(kind: "hairpin").first {
                ($0["evidence"] as? [String: Any])?["frontend"] as? String == "\(frontend):\(c.udp ? 53 : 80)"
            }
        }
        if c.healthy {
            // Only reads: a client that half-closes first can make the server's socat end the
            // connection before its forked `echo` has written.
            let answer = try lab.podA.exec(["socat", "-T3", "-u", target, "STDOUT"])
            #expect(answer.contains("hello"), "the hairpin works: the answer came back through the balancer")
            // The probe's verdict: it logged the packet, and conntrack confirmed its flow.
            #expect(
                try eventually(within: 2) {
                    try agent.metrics().value("pathwatch_syn_probe_confirmations_total", ["result": "confirmed"]) ?? 0 > confirmedBefore
                }, "the probe logged the packet and conntrack confirmed its flow")
            #expect(try finding() == nil, "log:\n\(agent.log)")
            return
        }
        let client = try BackgroundProcess(
            c.udp
                ? ["sh", "-c", "for i in 1 2 3; do echo q; sleep 0.5; done | socat -T2 - \(target)"]
                : ["socat", "-u", "OPEN:/dev/null", target], in: lab.podA, name: "client-\(c.number)")
        defer { client.stop() }
        #expect(
            try eventually(within: 1, every: 0.05) { try finding() != nil }, "named within a second of the first packet; log:\n\(agent.log)"
        )
        let evidence = try #require(try finding()?["evidence"] as? [String: Any])
        #expect(evidence["sourceEndpoints"] as? [String] == [c.ipv6 ? "fd00:1::20" : "10.0.1.20"], "\(evidence)")
        if c.setting.iptablesRpfilter || c.setting.rawRpfilter {
            #expect((evidence["origin"] as? String)?.contains("conntrack had not confirmed its flow") == true, "\(evidence)")
        }
        #expect(try agent.findings(kind: "self_sourced_syn_drop").isEmpty, "the node's own address is not involved")
    }
}

/// The matrix's one lab, its servers and its agent, made once for the suite and deleted after
/// it (namespaces, processes): a case costs its traffic, not a lab.
final class SharedGhostsLab: @unchecked Sendable {
    // Used by one case at a time (the suite is serialized).
    let lab: GhostsLab
    let agent: AgentProcess
    private let servers: [BackgroundProcess]

    @TaskLocal static var current: SharedGhostsLab?

    init(_ namespaces: [Namespace]) throws {
        lab = try GhostsLab(namespaces, GhostsLab.Setting(arrival: .primary))
        servers = [
            try BackgroundProcess(["socat", "UDP6-RECVFROM:5353,fork,ipv6only=0", "SYSTEM:echo ok"], in: lab.podB, name: "udp-server"),
            try BackgroundProcess(
                ["socat", "TCP6-LISTEN:8080,fork,reuseaddr,ipv6only=0", "SYSTEM:echo hello"], in: lab.podB, name: "server"),
        ]
        agent = try AgentProcess(in: lab.node)
        try agent.waitUntilReady()
        guard try eventually(within: 3, { try agent.get("/readyz").body.contains("self-sourced SYN detection: probe") }) else {
            throw AgentProcess.AgentNotReady(log: agent.log)
        }
    }

    func stop() {
        agent.stop()
        for server in servers { server.stop() }
    }

    /// Makes the lab for the whole suite and tears it down after its last case.
    struct Scope: SuiteTrait, TestScoping {
        func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
            var namespaces: [Namespace] = []
            defer { for ns in namespaces { ns.delete() } }
            for label in GhostsLab.labels { namespaces.append(try Namespace.create(label)) }
            let shared = try SharedGhostsLab(namespaces)
            defer { shared.stop() }
            try await SharedGhostsLab.$current.withValue(shared) { try await function() }
        }
    }
}
