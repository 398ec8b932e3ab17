import Foundation
import Testing

/// Faults a node agent meets in a fleet: link churn, signal storms, a crowd of scrapers. The
/// agent keeps serving and its model still matches the kernel afterwards.
@Suite("Faults", .serialized, .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct FaultTests {
    @Test func linksAppearingAndDisappearingFastLeaveTheModelInStep() throws {
        try withNamespace("churn") { ns in
            let agent = try AgentProcess(in: ns, config: "conntrack:\n  enabled: false\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            var batch = ""
            for i in 0..<150 {
                batch += "link add c\(i)a type veth peer name c\(i)b\n"
                batch += "link set c\(i)a up\n"
                batch += "addr add 10.77.\(i).1/24 dev c\(i)a\n"
            }
            for i in stride(from: 0, to: 150, by: 2) { batch += "link del c\(i)a\n" }
            try ns.exec(["ip", "-batch", "-"], input: batch)
            let expectedLinks = 1 + 75 * 2
            #expect(
                try eventually(within: 5, every: 0.2) {
                    let state = try StateDocument.fetch(agent)
                    let addresses = try IPView.addressCount(ns)
                    let routes = try IPView.routeCount(ns, family: 4)
                    return state.links.count == expectedLinks && state.addresses.count == addresses
                        && state.routes(family: "ipv4").count == routes
                })
            #expect(try agent.get("/healthz").status == 200)
        }
    }

    @Test func aStormOfSIGHUPsLeavesTheAgentServing() throws {
        try withNamespace("hupstorm") { ns in
            let agent = try AgentProcess(in: ns, config: "autofix: dry-run\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            for _ in 0..<100 { agent.signal(SIGHUP) }
            #expect(
                try eventually(within: 5) {
                    let reloads = try agent.metrics().value("pathwatch_config_reloads_total", ["result": "success"]) ?? 0
                    return reloads >= 1
                })
            #expect(try agent.get("/healthz").status == 200)
            #expect(try agent.metrics().value("pathwatch_autofix_mode", ["mode": "dry-run"]) == 1)
            #expect(agent.process.isRunning)
        }
    }

    @Test func aThousandScrapesAtOnceAreServedOrRefusedAndTheAgentCarriesOn() throws {
        try withNamespace("crowd") { ns in
            let agent = try AgentProcess(in: ns, config: "conntrack:\n  enabled: false\nhttp:\n  maxConnections: 64\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            // curl takes one `-o` per URL.
            let requests = Array(repeating: ["-o", "/dev/null", "http://127.0.0.1:\(agent.port)/metrics"], count: 1000).flatMap { $0 }
            let output = try ns.exec(
                ["curl", "-s", "-w", "%{http_code}\\n", "--parallel", "--parallel-max", "200", "-m", "20"] + requests, check: false)
            // Status codes only (standard error is mixed into the output).
            let lines: [Substring] = output.split(separator: "\n")
            let codes = lines.filter { $0.count == 3 && $0.allSatisfy(\.isNumber) }.map(String.init)
            #expect(codes.count == 1000)
            let served = codes.filter { $0 == "200" }.count
            #expect(served > 0)
            #expect(codes.allSatisfy { $0 == "200" || $0 == "000" }, "only answers or refused connections: \(Array(Set(codes)))")
            #expect(try agent.get("/healthz").status == 200, "it still serves afterwards")
            let refused = try agent.metrics().value("pathwatch_http_rejections_total", ["reason": "connection_limit"]) ?? 0
            #expect(Double(served) + refused >= 1000 - 1, "every scrape was either served or counted as refused (\(served) + \(refused))")
        }
    }
}
