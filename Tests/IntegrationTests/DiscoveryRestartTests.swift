import Foundation
import Testing

/// Issue 17.2: an agent restart while the metadata service is down keeps the routes an earlier
/// run installed from its answers, instead of cleaning them up before discovery has answered.
@Suite(
    "Discovery across restarts", .serialized,
    .enabled(if: Namespace.isRoot && Shell.exists("python3"), "needs root (namespaces) and python3 (the fake metadata service)"))
struct DiscoveryRestartTests {
    @Test func aRestartWithTheMetadataServiceDownKeepsTheLearnedRoutes() throws {
        try MetadataDiscoveryTests.withLab { lab in
            let inst1 = lab.subnets.inst1
            func learned() throws -> Bool {
                try inst1.ip("route", "show", "table", "all").contains("10.0.0.0/8 via 10.4.2.1 dev net1 table 2000")
                    && (try inst1.ip("rule", "show")).contains("from 10.4.2.10 lookup 2000")
            }
            let server = try lab.startServer("normal")
            let first = try AgentProcess(in: inst1, config: MetadataDiscoveryTests.config())
            try first.waitUntilReady()
            #expect(try eventually(within: 5) { try learned() }, "agent log:\n\(first.log)")
            first.stop()
            server.stop()

            let second = try AgentProcess(in: inst1, config: MetadataDiscoveryTests.config())
            defer { second.stop() }
            try second.waitUntilReady()
            #expect(
                try eventually(within: 5) {
                    (try second.metrics().value("pathwatch_discovery_failures_total", ["source": "metadata", "reason": "unreachable"]) ?? 0)
                        >= 1
                })
            Thread.sleep(forTimeInterval: 2)
            #expect(try learned(), "nothing of ours is removed before discovery has answered; agent log:\n\(second.log)")
            #expect(second.log.contains("until every expectation source has answered"))
            #expect(try second.metrics().value("pathwatch_route_repairs_total", ["result": "cleaned_up"]) == 0)

            let again = try lab.startServer("normal")
            defer { again.stop() }
            #expect(try eventually(within: 8) { try second.metrics().value("pathwatch_discovery_status", ["source": "metadata"]) == 1 })
            Thread.sleep(forTimeInterval: 1)
            #expect(try learned(), "still wanted once discovery answers")
            #expect(try second.metrics().value("pathwatch_route_repairs_total", ["result": "cleaned_up"]) == 0)
        }
    }
}
