import Foundation
import Testing

/// The "second interface cannot reach the peer subnet" incident, detected and repaired by the
/// real agent in namespaces, through every auto-fix mode.
@Suite(
    "Missing subnet routes", .serialized,
    .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct SubnetRouteTests {
    static func config(peer: String, autofix: String, extra: String = "") -> String {
        "autofix: \(autofix)\nconntrack:\n  enabled: false\nsubnetRoutes:\n  net1: [\"\(peer)\"]\n" + extra
    }

    @Test func dryRunChangesNothingThenOnRepairsAndOffStopsChanges() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            #expect(!SubnetLab.ping(from: lab.inst1, source: "10.4.2.10", to: "10.5.2.10"), "the incident: net1 cannot reach the peer")
            let agent1 = try AgentProcess(in: lab.inst1, config: Self.config(peer: "10.5.2.0/24", autofix: "dry-run"))
            defer { agent1.stop() }
            let agent2 = try AgentProcess(in: lab.inst2, config: Self.config(peer: "10.4.2.0/24", autofix: "dry-run"))
            defer { agent2.stop() }
            try agent1.waitUntilReady()
            try agent2.waitUntilReady()
            let before1 = try SubnetLab.routeTable(lab.inst1)

            // Both agents report the finding with its evidence and the exact fix.
            let labels1 = ["interface": "net1", "destination": "10.5.2.0/24", "gateway": "10.4.2.1"]
            #expect(
                try eventually(within: 5) { try agent1.metrics().value("pathwatch_missing_subnet_route", labels1) == 1 },
                agent1.diagnosis())
            #expect(
                try eventually(within: 5) {
                    try agent2.metrics().value(
                        "pathwatch_missing_subnet_route", ["interface": "net1", "destination": "10.4.2.0/24", "gateway": "10.5.2.1"]) == 1
                })
            let finding = try #require(try agent1.findings(kind: "missing_subnet_route").first)
            let evidence = finding["evidence"] as? [String: Any]
            #expect((evidence?["lookup"] as? String)?.contains("leaves by net0") == true, "evidence: \(evidence ?? [:])")
            let commands = (finding["remediation"] as? [String: Any])?["commands"] as? [String]
            #expect(commands == ["ip route add 10.5.2.0/24 via 10.4.2.1 dev net1 proto 196"])
            #expect(try agent1.metrics().value("pathwatch_route_repairs_total", ["result": "dry_run"]) == 1)
            #expect(agent1.log.contains("dry-run: would run"))
            Thread.sleep(forTimeInterval: 1)
            #expect(try SubnetLab.routeTable(lab.inst1) == before1, "dry-run leaves the routing byte-identical")

            // On: both install the route, tagged with pathwatch's protocol; the ping works.
            #expect(try agent1.switchAutofix("on").contains("ok autofix=on"))
            try agent2.switchAutofix("on")
            #expect(
                try eventually(within: 5) {
                    try lab.inst1.ip("route", "show", "10.5.2.0/24").contains("via 10.4.2.1 dev net1 proto 196")
                        && (try lab.inst2.ip("route", "show", "10.4.2.0/24").contains("via 10.5.2.1 dev net1 proto 196"))
                })
            #expect(eventually(within: 5) { SubnetLab.ping(from: lab.inst1, source: "10.4.2.10", to: "10.5.2.10") })
            #expect(
                try eventually(within: 5) {
                    try agent1.metrics().value("pathwatch_missing_subnet_route", labels1) == 0
                        && (try agent1.findings(kind: "missing_subnet_route").isEmpty)
                })
            #expect(try agent1.metrics().value("pathwatch_route_repairs_total", ["result": "success"]) == 1)
            #expect(try agent1.metrics().value("pathwatch_autofix_mode", ["mode": "on"]) == 1)
            #expect(agent1.log.contains("audit: route change made"))

            // Deleted by hand while on: restored, and the removal is counted.
            try lab.inst1.ip("route", "del", "10.5.2.0/24")
            #expect(try eventually(within: 5) { try lab.inst1.ip("route", "show", "10.5.2.0/24").contains("proto 196") })
            #expect(
                try eventually(within: 5) {
                    try agent1.metrics().value("pathwatch_route_repairs_removed_total") == 1
                        && (try agent1.metrics().value("pathwatch_route_repairs_total", ["result": "success"]) == 2)
                })

            // Off at runtime: no more changes; the removal is reported, not repaired.
            try agent1.switchAutofix("off")
            try lab.inst1.ip("route", "del", "10.5.2.0/24")
            #expect(
                try eventually(within: 5) { try agent1.metrics().value("pathwatch_missing_subnet_route", labels1) == 1 },
                agent1.diagnosis())
            Thread.sleep(forTimeInterval: 1)
            #expect(try lab.inst1.ip("route", "show", "10.5.2.0/24").isEmpty, "off means no changes")
            #expect(try agent1.metrics().value("pathwatch_route_repairs_total", ["result": "success"]) == 2)
        }
    }

    @Test func aRouteAnotherProtocolOwnsIsNeverTouched() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            try lab.inst1.ip("route", "add", "10.5.2.0/24", "via", "10.4.1.1", "dev", "net0", "proto", "static")
            let before = try lab.inst1.ip("route", "show", "table", "all")
            let agent = try AgentProcess(in: lab.inst1, config: Self.config(peer: "10.5.2.0/24", autofix: "on"))
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try eventually(within: 2) { try agent.metrics().value("pathwatch_route_repairs_total", ["result": "blocked"]) == 1 })
            let finding = try #require(try agent.findings(kind: "missing_subnet_route").first)
            #expect(((finding["remediation"] as? [String: Any])?["conflict"] as? String)?.contains("owned by protocol static") == true)
            Thread.sleep(forTimeInterval: 1)
            #expect(try lab.inst1.ip("route", "show", "table", "all") == before, "the foreign route is untouched")
        }
    }

    @Test func aHotPluggedSecondInterfaceIsRepaired() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss, secondInterfaceOnInst1: false)
            let agent = try AgentProcess(in: lab.inst1, config: Self.config(peer: "10.5.2.0/24", autofix: "on"))
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try agent.findings(kind: "missing_subnet_route").isEmpty, "no net1 yet, nothing to expect")
            try lab.hotPlugInst1SecondInterface()
            #expect(try eventually(within: 2) { try lab.inst1.ip("route", "show", "10.5.2.0/24").contains("dev net1 proto 196") })
            try lab.inst2.ip("route", "add", "10.4.2.0/24", "via", "10.5.2.1", "dev", "net1")  // the mirrored side by hand
            #expect(eventually(within: 3) { SubnetLab.ping(from: lab.inst1, source: "10.4.2.10", to: "10.5.2.10") })
        }
    }

    @Test func ipv6WithPolicyRouting() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss, ipv6: true)
            try lab.inst1.ip("-6", "addr", "add", "fd00:4:1::10/64", "dev", "net0", "nodad")
            try lab.router.ip("-6", "addr", "add", "fd00:4:1::1/64", "dev", "r1n0", "nodad")
            try lab.inst1.ip("-6", "route", "add", "default", "via", "fd00:4:1::1")
            try lab.inst2.ip("-6", "route", "add", "fd00:4:2::/64", "via", "fd00:5:2::1", "dev", "net1")
            #expect(!SubnetLab.ping(from: lab.inst1, source: "fd00:4:2::10", to: "fd00:5:2::10"))
            let agent = try AgentProcess(
                in: lab.inst1,
                config: Self.config(
                    peer: "fd00:5:2::/64", autofix: "on", extra: "repair:\n  strategy: policy-routing\n  policyTableBase: 20000\n"))
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(
                try eventually(within: 2) {
                    let rules = try lab.inst1.ip("-6", "rule", "show")
                    let table = try lab.inst1.ip("-6", "route", "show", "table", "all")
                    return rules.contains("from fd00:4:2::10 lookup") && rules.contains("proto 196")
                        && table.contains("fd00:5:2::/64 via fd00:4:2::1 dev net1 table 2")
                })
            #expect(eventually(within: 3) { SubnetLab.ping(from: lab.inst1, source: "fd00:4:2::10", to: "fd00:5:2::10") })
            #expect(try lab.inst1.ip("-6", "route", "show", "fd00:5:2::/64").isEmpty, "policy routing leaves the main table alone")
        }
    }

    @Test func aRepairThatDoesNotHoldStopsAndSaysSo() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            let agent = try AgentProcess(
                in: lab.inst1, config: Self.config(peer: "10.5.2.0/24", autofix: "on", extra: "repair:\n  maxInstallsPerWindow: 2\n"))
            defer { agent.stop() }
            try agent.waitUntilReady()
            for _ in 0..<2 {
                #expect(try eventually(within: 2) { try lab.inst1.ip("route", "show", "10.5.2.0/24").contains("proto 196") })
                try lab.inst1.ip("route", "del", "10.5.2.0/24")
            }
            #expect(try eventually(within: 2) { try agent.metrics().value("pathwatch_route_repairs_total", ["result": "flapping"]) == 1 })
            Thread.sleep(forTimeInterval: 1)
            #expect(try lab.inst1.ip("route", "show", "10.5.2.0/24").isEmpty, "it stopped re-installing")
            let finding = try #require(try agent.findings(kind: "missing_subnet_route").first)
            let evidence = finding["evidence"] as? [String: Any]
            #expect(evidence?["repairState"] as? String == "flapping")
            #expect(evidence?["likelyCause"] as? String != nil)
            #expect(try agent.metrics().value("pathwatch_route_repairs_removed_total") == 2)
        }
    }

    /// After a restart (or a config change) the agent finds what it owns by protocol 196: it
    /// keeps what is still wanted, removes what is not, and never touches anyone else's.
    @Test func aRestartReconcilesOnlyPathwatchsOwnRoutes() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            // Left by an earlier run: one still wanted, one no longer configured.
            try lab.inst1.ip("route", "add", "10.5.2.0/24", "via", "10.4.2.1", "dev", "net1", "proto", "196")
            try lab.inst1.ip("route", "add", "10.9.0.0/16", "via", "10.4.2.1", "dev", "net1", "proto", "196")
            try lab.inst1.ip("route", "add", "10.8.0.0/16", "via", "10.4.1.1", "dev", "net0", "proto", "static")
            let agent = try AgentProcess(in: lab.inst1, config: Self.config(peer: "10.5.2.0/24", autofix: "on"))
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try eventually(within: 2) { try lab.inst1.ip("route", "show", "10.9.0.0/16").isEmpty }, "the stale own route goes")
            #expect(try agent.metrics().value("pathwatch_route_repairs_total", ["result": "cleaned_up"]) == 1)
            #expect(try lab.inst1.ip("route", "show", "10.5.2.0/24").contains("proto 196"), "the wanted one stays")
            #expect(try agent.metrics().value("pathwatch_route_repairs_total", ["result": "success"]) == 0, "and is not re-installed")
            #expect(try lab.inst1.ip("route", "show", "10.8.0.0/16").contains("proto static"), "someone else's is untouched")
            #expect(try agent.findings(kind: "missing_subnet_route").isEmpty)
        }
    }

    @Test func theControlSocketRefusesGarbageAndNonRoot() throws {
        try withNamespace("ctl") { ns in
            let agent = try AgentProcess(in: ns, config: "conntrack:\n  enabled: false\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            let garbage = try Shell.run(
                ["socat", "-t", "2", "-", "UNIX-CONNECT:\(agent.controlSocket)"], input: "\u{01}\u{02}rm -rf /\n", check: false)
            #expect(garbage.hasPrefix("error:"), "answer: \(garbage)")
            let long = try Shell.run(
                ["socat", "-t", "2", "-", "UNIX-CONNECT:\(agent.controlSocket)"], input: String(repeating: "x", count: 5000), check: false)
            #expect(long.hasPrefix("error:"), "answer: \(long)")
            let badMode = try Shell.run([AgentProcess.binary, "autofix", "maybe", "--socket", agent.controlSocket], check: false)
            #expect(badMode.contains("'off', 'dry-run' or 'on'"), "argument parsing refuses it: \(badMode)")
            let nobody = try Shell.run(
                [
                    "setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", AgentProcess.binary, "autofix", "on", "--socket",
                    agent.controlSocket,
                ],
                check: false)
            #expect(nobody.contains("cannot reach") || nobody.contains("only root"), "a non-root client is refused: \(nobody)")
            #expect(try agent.metrics().value("pathwatch_autofix_mode", ["mode": "off"]) == 1, "nothing changed")
            let status = try Shell.run(["socat", "-t", "2", "-", "UNIX-CONNECT:\(agent.controlSocket)"], input: "status\n")
            #expect(status.hasPrefix("ok autofix=off ready=true"), "status: \(status)")
        }
    }
}

@Suite(
    "Missing subnet routes from live traffic", .serialized,
    .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct LiveTrafficSubnetRouteTests {
    @Test func unrepliedFlowsLeavingByTheWrongInterfaceAreReportedWithoutConfig() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            try lab.inst1.activateConntrack()
            let agent = try AgentProcess(in: lab.inst1, config: "liveTrafficScanSeconds: 0.5\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            // An application bound to net1's address talks to the peer; no answer comes back.
            let pinger = try BackgroundProcess(["ping", "-i", "0.2", "-I", "10.4.2.10", "10.5.2.10"], in: lab.inst1, name: "ping")
            defer { pinger.stop() }
            #expect(
                try eventually(within: 5, every: 0.25) {
                    try agent.findings(kind: "missing_subnet_route").contains {
                        ($0["evidence"] as? [String: Any])?["origin"] as? String == "conntrack"
                    }
                })
            let finding = try #require(try agent.findings(kind: "missing_subnet_route").first)
            #expect((finding["summary"] as? String)?.contains("leave by net0") == true, "summary: \(finding["summary"] ?? "")")
            #expect(try lab.inst1.ip("route", "show", "table", "all").contains("proto 196") == false, "report-only")

            // Traffic from net0's own address is answered: no finding for it.
            #expect(SubnetLab.ping(from: lab.inst1, source: "10.4.1.10", to: "10.5.1.10"))
            pinger.stop()
            try lab.inst1.exec(["conntrack", "-F"], check: false)
            #expect(try eventually(within: 3, every: 0.25) { try agent.findings(kind: "missing_subnet_route").isEmpty }, "it clears")
        }
    }
}
