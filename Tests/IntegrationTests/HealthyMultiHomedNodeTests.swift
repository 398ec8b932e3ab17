import Foundation
import Testing

/// Issue 14's last bullet: a healthy multi-homed node gets zero subnet-route findings over a
/// minute of mixed traffic. One test for every mix at once (the CI budget allows one of ~90 s):
/// working asymmetric routing (no source check, loose rp_filter) with a dead peer port, TCP and
/// UDP, answered and not; a secondary address; a third interface with a declared expectation
/// that holds through a route someone else owns; conntrack and the neighbour table both on.
@Suite(
    "Healthy multi-homed node", .serialized,
    .enabled(if: Namespace.isRoot && Shell.exists("python3") && Shell.exists("socat"), "needs root, python3 and socat"))
struct HealthyMultiHomedNodeTests {
    /// Bound to net1's address: a socket on 0.0.0.0 would answer from net0's address (the route
    /// back leaves by net0), which conntrack never matches as a reply.
    static let udpEcho = """
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("10.5.2.10", 7))
        while True:
            data, peer = s.recvfrom(2048)
            s.sendto(data, peer)
        """

    /// Every second: TCP answered from each source address, TCP to a dropped port, UDP answered
    /// (echo) and UDP to a closed port, TCP through the third interface via its gateway.
    static let traffic = """
        while true; do
          for src in 10.4.2.10 10.4.2.11 10.4.3.10; do
            curl -s -m 2 --interface $src -o /dev/null http://10.5.2.10:8080/ || true
          done
          curl -s -m 1 --interface 10.4.2.10 -o /dev/null http://10.5.2.10:9/ || true
          echo hi | socat -t 1 - UDP:10.5.2.10:7,bind=10.4.2.11 >/dev/null 2>&1 || true
          echo hi | socat -u - UDP:10.5.2.10:9999,bind=10.4.2.10 >/dev/null 2>&1 || true
          curl -s -m 2 --interface 10.4.3.10 -o /dev/null http://10.5.1.10:8080/ || true
          sleep 1
        done
        """

    /// About 75 s: 55 s of observed traffic after the lab, the agent and the mix are up (CI's
    /// budget). `PATHWATCH_HEALTHY_SECONDS=600` watches ten minutes, for a longer check by hand.
    @Test func aHealthyMultiHomedNodeStaysSilentForAMinute() throws {
        try withNamespaces(["router", "inst1", "inst2"]) { nss in
            let started = Date()
            let lab = try SubnetLab(nss)
            try lab.addInst1ThirdInterface()
            // A network without a source check, nodes with loose reverse-path filtering.
            try lab.router.exec(["nft", "delete", "table", "inet", "srcdst"])
            for ns in [lab.inst1, lab.inst2] {
                try ns.exec(["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=2", "net.ipv4.conf.default.rp_filter=2"])
            }
            try lab.inst1.ip("addr", "add", "10.4.2.11/24", "dev", "net1")  // a secondary address
            // net2's declared expectation holds through a route the operator installed.
            try lab.inst1.ip("route", "add", "10.5.1.0/24", "via", "10.4.3.1", "dev", "net2", "proto", "static")
            try lab.inst2.nft("table inet dead { chain in { type filter hook input priority 0; tcp dport 9 drop; }; }")
            let web = try BackgroundProcess(["python3", "-m", "http.server", "--bind", "0.0.0.0", "8080"], in: lab.inst2, name: "web")
            defer { web.stop() }
            let echo = try BackgroundProcess(["python3", "-c", Self.udpEcho], in: lab.inst2, name: "udp-echo")
            defer { echo.stop() }
            #expect(try eventually(within: 5) { try lab.inst2.exec(["ss", "-ltnH", "sport", "= :8080"]).contains("8080") })
            try lab.inst1.activateConntrack()
            let agent = try AgentProcess(
                in: lab.inst1, config: "autofix: on\nliveTrafficScanSeconds: 0.5\nsubnetRoutes:\n  net2: [\"10.5.1.0/24\"]\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            let load = try BackgroundProcess(["sh", "-c", Self.traffic], in: lab.inst1, name: "traffic")
            defer { load.stop() }

            // The mixes are really there: answered asymmetric flows, unreplied dead ports.
            let flows = { (proto: String, port: String) in
                (try? lab.inst1.exec(["conntrack", "-L", "-p", proto, "--dport", port], check: false)) ?? ""
            }
            #expect(eventually(within: 10, every: 0.5) { flows("tcp", "9").contains("UNREPLIED") }, "dead TCP port: \(flows("tcp", "9"))")
            #expect(
                eventually(within: 10, every: 0.5) { flows("udp", "9999").contains("UNREPLIED") }, "dead UDP port: \(flows("udp", "9999"))")
            #expect(
                eventually(within: 10, every: 0.5) {
                    flows("udp", "7").contains("src=10.4.2.11") && !flows("udp", "7").contains("UNREPLIED")
                },
                "answered UDP from the secondary address: \(flows("udp", "7"))")
            #expect(
                eventually(within: 10, every: 0.5) { flows("tcp", "8080").contains("src=10.4.3.10 dst=10.5.1.10") },
                "TCP through the third interface: \(flows("tcp", "8080"))")
            #expect(try lab.inst1.ip("route", "get", "10.5.2.10", "from", "10.4.2.10").contains("dev net0"), "asymmetric")

            let watch = ProcessInfo.processInfo.environment["PATHWATCH_HEALTHY_SECONDS"].flatMap(Double.init) ?? 55
            let deadline = Date().addingTimeInterval(watch)
            var findings: [[String: Any]] = []
            while Date() < deadline, findings.isEmpty {
                findings = try agent.findings(kind: "missing_subnet_route")
                Thread.sleep(forTimeInterval: 2)
            }
            #expect(findings.isEmpty, "a healthy node: \(findings)\nagent log:\n\(agent.log)")
            let metrics = try agent.metrics()
            #expect(metrics.value("pathwatch_route_repairs_total", ["result": "success"]) == 0, "nothing to repair")
            #expect(metrics.value("pathwatch_route_repairs_total", ["result": "blocked"]) == 0)
            #expect(
                metrics.value("pathwatch_missing_subnet_route", ["interface": "net2", "destination": "10.5.1.0/24", "gateway": "10.4.3.1"])
                    == 0)
            print("healthy multi-homed node test took \(Date().timeIntervalSince(started)) s")
        }
    }
}
