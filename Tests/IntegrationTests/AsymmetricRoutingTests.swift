import Foundation
import Testing

/// Issue 14: on a multi-homed node whose asymmetric routing works (no source check, loose
/// reverse-path filtering), traffic from net1's address leaves by net0 and is answered. One dead
/// peer port must not become a `missing_subnet_route`: the same address pair gets replies.
@Suite(
    "Working asymmetric routing", .serialized,
    .enabled(if: Namespace.isRoot && Shell.exists("python3"), "needs root (namespaces) and python3 (a peer service)"))
struct AsymmetricRoutingTests {
    @Test func aDeadPeerPortOnAWorkingPathIsNoRoutingFinding() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let lab = try SubnetLab(nss)
            // A network without a source check, nodes with loose reverse-path filtering.
            try lab.router.exec(["nft", "delete", "table", "inet", "srcdst"])
            for ns in [lab.inst1, lab.inst2] {
                try ns.exec([
                    "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=2", "net.ipv4.conf.net0.rp_filter=2", "net.ipv4.conf.net1.rp_filter=2",
                ])
            }
            // The peer serves on 8080 and silently drops port 9 (a dead service behind a firewall).
            try lab.inst2.nft("table inet dead { chain in { type filter hook input priority 0; tcp dport 9 drop; }; }")
            let service = try BackgroundProcess(
                ["python3", "-m", "http.server", "--bind", "10.5.2.10", "8080"], in: lab.inst2, name: "peer-service")
            defer { service.stop() }
            #expect(try eventually(within: 5) { try lab.inst2.exec(["ss", "-ltnH", "sport", "= :8080"]).contains("10.5.2.10") })
            try lab.inst1.activateConntrack()
            let agent = try AgentProcess(in: lab.inst1, config: "liveTrafficScanSeconds: 0.5\n")
            defer { agent.stop() }
            try agent.waitUntilReady()

            // The working path: answered, although it leaves by net0.
            #expect(try lab.inst1.ip("route", "get", "10.5.2.10", "from", "10.4.2.10").contains("dev net0"))
            let answer = try lab.inst1.exec(
                ["curl", "-s", "-m", "3", "--interface", "10.4.2.10", "-o", "/dev/null", "-w", "%{http_code}", "http://10.5.2.10:8080/"])
            #expect(answer == "200", "asymmetric routing works here")
            // The dead port: SYNs retransmitted, never answered.
            let dead = try BackgroundProcess(
                ["curl", "-s", "-m", "8", "--interface", "10.4.2.10", "http://10.5.2.10:9/"], in: lab.inst1, name: "dead-port")
            defer { dead.stop() }
            #expect(
                try eventually(within: 3) {
                    try lab.inst1.exec(["conntrack", "-L", "-p", "tcp", "--dport", "9"], check: false).contains("UNREPLIED")
                }, "the dead port's flow is there, unreplied")
            Thread.sleep(forTimeInterval: 4)  // eight scans
            #expect(try agent.findings(kind: "missing_subnet_route").isEmpty, "replies on the same pair: the path works")
        }
    }
}
