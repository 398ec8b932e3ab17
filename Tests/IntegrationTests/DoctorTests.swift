import Foundation
import Testing

/// `pathwatch doctor` on a real node in namespaces: exit status, text and JSON reports, and
/// that it never changes the node.
@Suite("pathwatch doctor", .serialized, .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs pathwatch in them"))
struct DoctorTests {
    func doctor(_ ns: Namespace, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ip")
        process.arguments = ["netns", "exec", ns.name, AgentProcess.binary, "doctor"] + arguments
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice  // logs; the report is on standard output
        try process.run()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func findsTheMissingSubnetRouteAndChangesNothing() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            let config = FileManager.default.temporaryDirectory.appendingPathComponent("pathwatch-doctor-\(lab.inst1.name).yaml")
            defer { try? FileManager.default.removeItem(at: config) }
            // auto-fix on in the file: doctor must still change nothing.
            try "autofix: on\nsubnetRoutes:\n  net1: [\"10.5.2.0/24\"]\n".write(to: config, atomically: true, encoding: .utf8)
            let before = try SubnetLab.routeTable(lab.inst1)
            let text = try doctor(lab.inst1, ["--config", config.path, "--duration", "2"])
            #expect(text.status == 1, "output:\n\(text.output)")
            #expect(text.output.contains("[missing_subnet_route]"))
            #expect(text.output.contains("fix: ip route add 10.5.2.0/24 via 10.4.2.1 dev net1 proto 196"))
            #expect(try SubnetLab.routeTable(lab.inst1) == before, "doctor never changes the node")

            let json = try doctor(lab.inst1, ["--config", config.path, "--duration", "2", "--json"])
            #expect(json.status == 1)
            let report = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
            let findings = report?["findings"] as? [[String: Any]] ?? []
            #expect(findings.first?["kind"] as? String == "missing_subnet_route", "output: \(json.output)")
        }
    }

    @Test func aHealthyNodeExitsZeroAndSaysWhatItCouldNotSee() throws {
        try withNamespace("doc") { ns in
            let result = try doctor(ns, ["--duration", "1"])
            #expect(result.status == 0, "output:\n\(result.output)")
            #expect(result.output.contains("0 findings"))
            #expect(result.output.contains("conntrack is inactive"))
        }
    }

    @Test func errorsExitTwo() throws {
        try withNamespace("docerr") { ns in
            let badDuration = try doctor(ns, ["--duration", "0"])
            #expect(badDuration.status == 2)
            let missingConfig = try doctor(ns, ["--config", "/nonexistent/pathwatch.yaml"])
            #expect(missingConfig.status == 2)
        }
    }

    /// Issue 14: doctor explains the on-link half-fix found from the neighbour table with no
    /// configuration and conntrack off. The FAILED entry is there before doctor starts, so this
    /// also proves the neighbour dump at start-up (not only the subscription).
    @Test func explainsAnOnLinkRouteFromTheNeighbourTable() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            try lab.inst1.ip("route", "add", "10.5.2.0/24", "dev", "net1", "proto", "static")
            try lab.inst1.ip("neigh", "add", "10.5.2.10", "dev", "net1", "nud", "failed")
            let config = FileManager.default.temporaryDirectory.appendingPathComponent("pathwatch-doctor-\(lab.inst1.name).yaml")
            defer { try? FileManager.default.removeItem(at: config) }
            try "conntrack:\n  enabled: false\n".write(to: config, atomically: true, encoding: .utf8)
            let result = try doctor(lab.inst1, ["--config", config.path, "--duration", "3"])
            #expect(result.status == 1, "output:\n\(result.output)")
            #expect(result.output.contains("  route: 10.5.2.0/24 dev net1"), "output:\n\(result.output)")
            #expect(result.output.contains("  fix: ip route replace 10.5.2.0/24 via 10.4.2.1 dev net1"))
            #expect(
                result.output.contains(
                    "  why: The on-link route `10.5.2.0/24 dev net1` sends traffic for 10.5.2.10 out of net1 without a gateway"))
            #expect(result.output.contains("unanswered neighbour entries"), "the note says where no-config findings come from")
        }
    }
}
