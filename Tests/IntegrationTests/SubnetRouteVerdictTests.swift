import Foundation
import Testing

/// Issues 14 and 17 against the real kernel: half-fixes a human made are named, foreign routes
/// of any metric are never overridden, policy routing repairs alongside them, and a destination
/// that cannot be fixed never tears down one that can.
@Suite(
    "Subnet route verdicts in namespaces", .serialized,
    .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct SubnetRouteVerdictNamespaceTests {
    static func config(_ peers: [String], autofix: String, policy: Bool = false) -> String {
        "autofix: \(autofix)\nconntrack:\n  enabled: false\nsubnetRoutes:\n  net1: [\(peers.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
            + (policy ? "repair:\n  strategy: policy-routing\n" : "")
    }

    static func finding(_ agent: AgentProcess, _ key: String = "net1 10.5.2.0/24") throws -> [String: Any]? {
        try agent.findings(kind: "missing_subnet_route").first { $0["key"] as? String == key }
    }

    static func lookup(_ finding: [String: Any]?) -> String {
        (finding?["evidence"] as? [String: Any])?["lookup"] as? String ?? ""
    }

    static func blockedBy(_ finding: [String: Any]?) -> [String: Any] {
        ((finding?["remediation"] as? [String: Any])?["blockedBy"] as? [String: Any]) ?? [:]
    }

    /// The incident's own half-fix: `ip route add 10.5.2.0/24 dev net1`.
    @Test func anOnLinkRouteIsNamedBlocksMainTableAndClearsWhenFixedByHand() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            try lab.inst1.ip("route", "add", "10.5.2.0/24", "dev", "net1", "proto", "static")
            let before = try SubnetLab.routeTable(lab.inst1)
            let agent = try AgentProcess(in: lab.inst1, config: Self.config(["10.5.2.0/24"], autofix: "on"))
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(
                try eventually(within: 3) { Self.lookup(try Self.finding(agent)).contains("leaves by net1 on-link, without a gateway") })
            let finding = try Self.finding(agent)
            #expect(Self.blockedBy(finding)["route"] as? String == "10.5.2.0/24 dev net1 proto static", "\(finding ?? [:])")
            #expect(try agent.metrics().value("pathwatch_route_repairs_total", ["result": "blocked"]) == 1)
            Thread.sleep(forTimeInterval: 1)
            #expect(try SubnetLab.routeTable(lab.inst1) == before, "the foreign route is untouched")
            try lab.inst1.ip("route", "replace", "10.5.2.0/24", "via", "10.4.2.1", "dev", "net1", "proto", "static")
            #expect(try eventually(within: 3) { try Self.finding(agent) == nil }, "cleared once someone else fixed it")
        }
    }

    @Test func aRouteViaAnotherGatewayAndABlackholeAreNamed() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            try lab.inst1.ip("route", "add", "10.5.2.0/24", "via", "10.4.2.99", "dev", "net1", "proto", "static")
            try lab.inst1.ip("route", "add", "blackhole", "10.6.0.0/24", "proto", "static")
            let agent = try AgentProcess(in: lab.inst1, config: Self.config(["10.5.2.0/24", "10.6.0.0/24"], autofix: "off"))
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try eventually(within: 3) { Self.lookup(try Self.finding(agent)).hasSuffix("leaves by net1 via 10.4.2.99") })
            #expect(
                try eventually(within: 3) {
                    Self.lookup(try Self.finding(agent, "net1 10.6.0.0/24")).contains("no route: a blackhole route")
                })
        }
    }

    /// Issue 17.3: a foreign route at another metric is a conflict; nothing goes in ahead of it.
    @Test func aForeignRouteAtAnotherMetricIsAConflict() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            try lab.inst1.ip("route", "add", "10.5.2.0/24", "via", "10.4.1.1", "dev", "net0", "proto", "static", "metric", "100")
            let before = try SubnetLab.routeTable(lab.inst1)
            let agent = try AgentProcess(in: lab.inst1, config: Self.config(["10.5.2.0/24"], autofix: "on"))
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try eventually(within: 3) { try agent.metrics().value("pathwatch_route_repairs_total", ["result": "blocked"]) == 1 })
            let blocked = Self.blockedBy(try Self.finding(agent))
            #expect(blocked["metric"] as? Int == 100, "\(blocked)")
            Thread.sleep(forTimeInterval: 1)
            #expect(try SubnetLab.routeTable(lab.inst1) == before, "no route of ours at metric 0 ahead of it")
            #expect(
                try agent.metrics().value(
                    "pathwatch_missing_subnet_route", ["interface": "net1", "destination": "10.5.2.0/24", "gateway": "10.4.2.1"]) == 1)
        }
    }

    /// Issue 14: policy routing repairs the traffic alongside the on-link route, which stays byte
    /// for byte.
    @Test func policyRoutingRepairsAlongsideTheForeignRoute() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            try lab.inst1.ip("route", "add", "10.5.2.0/24", "dev", "net1", "proto", "static")
            try lab.inst2.ip("route", "add", "10.4.2.0/24", "via", "10.5.2.1", "dev", "net1")
            let foreign = try lab.inst1.ip("route", "show", "table", "main", "10.5.2.0/24")
            let agent = try AgentProcess(in: lab.inst1, config: Self.config(["10.5.2.0/24"], autofix: "on", policy: true))
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(eventually(within: 3) { SubnetLab.ping(from: lab.inst1, source: "10.4.2.10", to: "10.5.2.10") })
            #expect(try eventually(within: 2) { try Self.finding(agent) == nil })
            #expect(try lab.inst1.ip("route", "show", "table", "main", "10.5.2.0/24") == foreign)
            #expect(try agent.metrics().value("pathwatch_route_repairs_total", ["result": "conflict"]) == 0)
            #expect(try agent.metrics().value("pathwatch_route_repairs_total", ["result": "blocked"]) == 0)
        }
    }

    /// Issue 17.1: 10.6.0.0/24 cannot be fixed (a foreign rule at a higher priority sends it out
    /// of net0); 10.5.2.0/24 shares the rule and connected route and must be repaired and stay.
    @Test func aDestinationThatCannotBeFixedKeepsWhatAnotherNeeds() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            try lab.inst1.ip("rule", "add", "to", "10.6.0.0/24", "lookup", "50", "priority", "100")
            try lab.inst1.ip("route", "add", "10.6.0.0/24", "via", "10.4.1.1", "dev", "net0", "table", "50")
            try lab.inst2.ip("route", "add", "10.4.2.0/24", "via", "10.5.2.1", "dev", "net1")
            let agent = try AgentProcess(
                in: lab.inst1, config: Self.config(["10.6.0.0/24", "10.5.2.0/24"], autofix: "on", policy: true))
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(eventually(within: 3) { SubnetLab.ping(from: lab.inst1, source: "10.4.2.10", to: "10.5.2.10") })
            #expect(
                try eventually(within: 3) {
                    try agent.metrics().value("pathwatch_route_repairs_total", ["result": "verify_failed"]) ?? 0 >= 1
                })
            Thread.sleep(forTimeInterval: 3)  // several retries of 10.6.0.0/24 under backoff
            #expect(SubnetLab.ping(from: lab.inst1, source: "10.4.2.10", to: "10.5.2.10"), "still working")
            let metrics = try agent.metrics()
            #expect(metrics.value("pathwatch_route_repairs_removed_total") == 0, "our own rollback is nobody else's removal")
            #expect(metrics.value("pathwatch_route_repairs_total", ["result": "flapping"]) == 0)
            #expect(metrics.value("pathwatch_route_repairs_total", ["result": "success"]) == 1)
            #expect(try lab.inst1.ip("rule", "show", "priority", "100").contains("lookup 50"), "the foreign rule stays")
        }
    }

    /// Issue 17.5: a gateway changed by SIGHUP replaces the route pathwatch installed.
    @Test func aGatewayChangedOnSIGHUPReplacesOurRoute() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            let config = Self.config(["10.5.2.0/24"], autofix: "on")
            let agent = try AgentProcess(in: lab.inst1, config: config)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(
                try eventually(within: 3) { try lab.inst1.ip("route", "show", "10.5.2.0/24").contains("via 10.4.2.1 dev net1 proto 196") })
            try (config + "subnetGateways:\n  net1: \"10.4.2.254\"\n").write(to: agent.configFile, atomically: true, encoding: .utf8)
            agent.signal(SIGHUP)
            #expect(
                try eventually(within: 3) {
                    try lab.inst1.ip("route", "show", "10.5.2.0/24").contains("via 10.4.2.254 dev net1 proto 196")
                },
                "agent log:\n\(agent.log)")
            #expect(try lab.inst1.ip("route", "show", "10.5.2.0/24").components(separatedBy: "\n").filter { !$0.isEmpty }.count == 1)
            #expect(
                try agent.metrics().value(
                    "pathwatch_missing_subnet_route", ["interface": "net1", "destination": "10.5.2.0/24", "gateway": "10.4.2.254"]) == 0)
            #expect(try agent.metrics().value("pathwatch_route_repairs_removed_total") == 0)
        }
    }

    /// Issue 14: a policy rule that sends the traffic elsewhere is named; the finding clears when
    /// the rule goes.
    @Test func aPolicyRuleSendingItElsewhereIsNamedAndClearsWhenRemoved() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            try lab.inst1.ip("route", "add", "10.5.2.0/24", "via", "10.4.2.1", "dev", "net1", "proto", "static")
            try lab.inst1.ip("rule", "add", "to", "10.5.2.0/24", "lookup", "50", "priority", "100", "proto", "static")
            try lab.inst1.ip("route", "add", "10.5.0.0/16", "via", "10.4.1.1", "dev", "net0", "table", "50")
            let agent = try AgentProcess(in: lab.inst1, config: Self.config(["10.5.2.0/24"], autofix: "off"))
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(
                try eventually(within: 3) {
                    ((try Self.finding(agent))?["evidence"] as? [String: Any])?["rule"] as? String
                        == "100: from all to 10.5.2.0/24 lookup 50 proto static"
                }, "agent log:\n\(agent.log)")
            #expect(Self.lookup(try Self.finding(agent)).contains("(table 50)"))
            try lab.inst1.ip("rule", "del", "priority", "100")
            #expect(try eventually(within: 3) { try Self.finding(agent) == nil })
        }
    }

    /// Issue 14: the route is right but the subnet gateway does not answer ARP: its own finding,
    /// not a missing route; it clears when the gateway answers again.
    @Test func aGatewayThatDoesNotAnswerARPIsNamed() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            try lab.inst2.ip("route", "add", "10.4.2.0/24", "via", "10.5.2.1", "dev", "net1")
            let agent = try AgentProcess(in: lab.inst1, config: Self.config(["10.5.2.0/24"], autofix: "on"))
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(eventually(within: 3) { SubnetLab.ping(from: lab.inst1, source: "10.4.2.10", to: "10.5.2.10") })
            try lab.router.ip("addr", "del", "10.4.2.1/24", "dev", "r1n1")
            try lab.inst1.ip("neigh", "flush", "dev", "net1")
            let pinger = try BackgroundProcess(["ping", "-i", "0.5", "-I", "10.4.2.10", "10.5.2.10"], in: lab.inst1, name: "ping")
            defer { pinger.stop() }
            #expect(
                try eventually(within: 10, every: 0.25) {
                    Self.lookup(try Self.finding(agent, "gateway net1 10.4.2.1")).hasPrefix("ip neigh get 10.4.2.1 dev net1: ")
                }, "agent log:\n\(agent.log)")
            #expect(
                try agent.metrics().value(
                    "pathwatch_missing_subnet_route", ["interface": "net1", "destination": "10.5.2.0/24", "gateway": "10.4.2.1"]) == 0,
                "the route is right")
            #expect(try Self.finding(agent) == nil, "no missing-route finding")
            try lab.router.ip("addr", "add", "10.4.2.1/24", "dev", "r1n1")
            #expect(try eventually(within: 8, every: 0.25) { try Self.finding(agent, "gateway net1 10.4.2.1") == nil }, "it clears")
        }
    }

    /// Issue 14, a third interface: expectations on net1 and net2, only net2's broken. Only net2
    /// is named; its repair leaves net1's routes exactly as they were.
    @Test func withAThirdInterfaceOnlyTheBrokenOneIsNamedAndRepaired() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            try lab.addInst1ThirdInterface()
            try lab.inst1.ip("route", "add", "10.5.2.0/24", "via", "10.4.2.1", "dev", "net1", "proto", "static")
            let config =
                "autofix: off\nconntrack:\n  enabled: false\nsubnetRoutes:\n  net1: [\"10.5.2.0/24\"]\n  net2: [\"10.5.1.0/24\"]\n"
            let agent = try AgentProcess(in: lab.inst1, config: config)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try eventually(within: 3) { try Self.finding(agent, "net2 10.5.1.0/24") != nil }, "agent log:\n\(agent.log)")
            #expect(Self.lookup(try Self.finding(agent, "net2 10.5.1.0/24")).hasSuffix("leaves by net0 via 10.4.1.1"))
            #expect(try agent.findings(kind: "missing_subnet_route").count == 1, "only net2 is named")
            let metrics = try agent.metrics()
            #expect(
                metrics.value("pathwatch_missing_subnet_route", ["interface": "net1", "destination": "10.5.2.0/24", "gateway": "10.4.2.1"])
                    == 0)
            #expect(
                metrics.value("pathwatch_missing_subnet_route", ["interface": "net2", "destination": "10.5.1.0/24", "gateway": "10.4.3.1"])
                    == 1)
            let net1Before = try lab.inst1.ip("route", "show", "table", "all", "dev", "net1")
            try agent.switchAutofix("on")
            #expect(
                try eventually(within: 3) { try lab.inst1.ip("route", "show", "10.5.1.0/24").contains("via 10.4.3.1 dev net2 proto 196") },
                "agent log:\n\(agent.log)")
            #expect(try eventually(within: 3) { try agent.findings(kind: "missing_subnet_route").isEmpty })
            #expect(try lab.inst1.ip("route", "show", "table", "all", "dev", "net1") == net1Before, "net1's routes untouched")
            #expect(SubnetLab.ping(from: lab.inst1, source: "10.4.3.10", to: "10.5.1.10"), "net2's traffic now works")
        }
    }
}
