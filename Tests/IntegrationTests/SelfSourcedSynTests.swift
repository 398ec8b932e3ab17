import Foundation
import Testing

/// The instance hairpin, reproduced for real: the node 10.0.1.10 connects to frontend
/// 10.0.9.9:80 on a balancer that DNATs back to 10.0.1.10:8080 keeping the client address, and
/// the kernel drops the returning SYN as a martian source. The agent's probe (its own nftables
/// table feeding nfnetlink_log) names the frontend; without it, the kernel counter still warns.
@Suite(
    "Self-sourced SYN drops", .serialized,
    .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct SelfSourcedSynDropTests {
    /// The instance and the balancer in front of it; returns the balancer's MAC on the link.
    func lab(_ instance: Namespace, _ lb: Namespace) throws -> String {
        try instance.connect("eth0", to: lb, "eth0", localAddress: "10.0.1.10/24", remoteAddress: "10.0.1.1/24")
        try instance.ip("route", "add", "default", "via", "10.0.1.1")
        try lb.exec([
            "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.eth0.send_redirects=0",
        ])
        try lb.ip("addr", "add", "10.0.9.9/32", "dev", "lo")
        try lb.nft(
            "table ip lb {\n chain pre { type nat hook prerouting priority -100; ip daddr 10.0.9.9 tcp dport 80 dnat to 10.0.1.10:8080; }\n}\n"
        )
        let link = try lb.ip("-o", "link", "show", "eth0")
        let fields = link.split(separator: " ").map(String.init)
        return try #require(fields.firstIndex(of: "link/ether").map { fields[$0 + 1] })
    }

    /// A pod 10.244.0.2 on the instance whose connections leave masqueraded to 10.0.1.10.
    func masqueradedPod(_ pod: Namespace, on instance: Namespace) throws {
        try instance.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        try instance.ip("link", "add", "vpod", "type", "veth", "peer", "name", "eth0", "netns", pod.name)
        try instance.ip("addr", "add", "169.254.1.1/32", "dev", "vpod")
        try instance.ip("link", "set", "vpod", "up")
        try instance.ip("route", "add", "10.244.0.2/32", "dev", "vpod", "scope", "link")
        try pod.ip("addr", "add", "10.244.0.2/32", "dev", "eth0")
        try pod.ip("link", "set", "eth0", "up")
        try pod.ip("route", "add", "169.254.1.1", "dev", "eth0", "scope", "link")
        try pod.ip("route", "add", "default", "via", "169.254.1.1", "dev", "eth0")
        try instance.nft(
            "table ip podnat {\n chain post { type nat hook postrouting priority 100; ip saddr 10.244.0.2 oifname \"eth0\" masquerade; }\n}\n"
        )
    }

    func probeTable(_ ns: Namespace) -> String { (try? ns.exec(["nft", "list", "table", "inet", "pathwatch"])) ?? "" }

    func probeMode(_ agent: AgentProcess) throws -> Bool {
        try agent.get("/readyz").body.contains("self-sourced SYN detection: probe")
    }

    @Test func theProbeNamesTheFrontendWithinASecondOfTheFirstSyn() throws {
        try withNamespaces(["inst", "lb"]) { nss in
            let (instance, lb) = (nss[0], nss[1])
            let balancerMAC = try lab(instance, lb)
            try instance.activateConntrack()
            let listener = try BackgroundProcess(
                ["socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo hello"], in: instance, name: "listener")
            defer { listener.stop() }
            let agent = try AgentProcess(in: instance)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try eventually(within: 3) { try probeMode(agent) }, "log:\n\(agent.log)")
            #expect(try agent.metrics().value("pathwatch_self_sourced_syn_detection", ["mode": "probe"]) == 1)
            // The rule, as nft prints what the agent built over netlink.
            let table = probeTable(instance)
            #expect(table.contains("type filter hook prerouting priority raw - 10; policy accept;"), "\(table)")
            #expect(table.contains(#"iif != "lo" tcp flags syn / syn,ack fib saddr type local counter"#), "\(table)")
            #expect(table.contains("limit rate 100/second log group 196"), "\(table)")

            // Negatives: the node to itself (over lo) and the balancer to the node are normal.
            #expect(HairpinLab.connect(from: instance, to: "10.0.1.10", port: 8080))
            #expect(HairpinLab.connect(from: lb, to: "10.0.1.10", port: 8080))
            Thread.sleep(forTimeInterval: 0.3)
            #expect(try agent.findings(kind: "self_sourced_syn_drop").isEmpty)

            // The incident: the node's connection through the frontend comes back to it.
            let client = try BackgroundProcess(
                ["socat", "-u", "OPEN:/dev/null", "TCP:10.0.9.9:80,connect-timeout=3"], in: instance, name: "client")
            defer { client.stop() }
            #expect(
                try eventually(within: 1, every: 0.05) { try !agent.findings(kind: "self_sourced_syn_drop").isEmpty },
                "within a second of the first SYN")
            let finding = try #require(try agent.findings(kind: "self_sourced_syn_drop").first)
            let evidence = try #require(finding["evidence"] as? [String: Any])
            #expect(evidence["frontend"] as? String == "10.0.9.9:80")
            #expect(evidence["localTargets"] as? [String] == ["10.0.1.10:8080"])
            #expect((evidence["sourceEndpoints"] as? [String])?.first?.hasPrefix("10.0.1.10:") == true)
            #expect(evidence["interfaces"] as? [String] == ["eth0"])
            #expect(evidence["senderMACs"] as? [String] == [balancerMAC])
            #expect(((finding["remediation"] as? [String: Any])?["options"] as? [String])?.first?.contains("Proxy Protocol v2") == true)
            #expect(agent.log.contains("self-sourced SYN drop: the node's own connection comes back to it"))
            client.process.waitUntilExit()
            #expect(client.process.terminationStatus != 0, "the connection fails, as in the incident")
            let metrics = try agent.metrics()
            #expect((metrics.value("pathwatch_syn_probe_packets_total") ?? 0) >= 2, "the SYN and its retransmits")
            #expect((metrics.value("pathwatch_self_sourced_syn_drops_total") ?? 0) >= 2)
            #expect(try agent.findings(kind: "self_sourced_syn_drop").count == 1, "one finding per frontend")

            // Stopping the agent removes its table and nothing else.
            #expect(agent.stop() == 0)
            #expect(probeTable(instance).isEmpty)
            #expect(try instance.exec(["nft", "list", "tables"]).contains("table"), "the test's own tables are still there")
        }
    }

    @Test func anIPv6InstanceHairpinIsNamedToo() throws {
        try withNamespaces(["inst", "lb"]) { nss in
            let (instance, lb) = (nss[0], nss[1])
            _ = try lab(instance, lb)
            for ns in nss { try ns.exec(["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]) }
            try instance.ip("-6", "addr", "add", "fd00:1::10/64", "dev", "eth0", "nodad")
            try lb.ip("-6", "addr", "add", "fd00:1::1/64", "dev", "eth0", "nodad")
            try lb.ip("-6", "addr", "add", "fd00:9::9/128", "dev", "lo")
            try instance.ip("-6", "route", "add", "fd00:9::9/128", "via", "fd00:1::1")
            try lb.exec(["sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
            try lb.nft(
                "table ip6 lb6 {\n chain pre { type nat hook prerouting priority -100; ip6 daddr fd00:9::9 tcp dport 80 dnat to [fd00:1::10]:8080; }\n}\n"
            )
            try instance.activateConntrack()
            let agent = try AgentProcess(in: instance)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try eventually(within: 3) { try probeMode(agent) })
            let client = try BackgroundProcess(
                ["socat", "-u", "OPEN:/dev/null", "TCP6:[fd00:9::9]:80,connect-timeout=3"], in: instance, name: "client6")
            defer { client.stop() }
            #expect(
                try eventually(within: 1, every: 0.05) { try !agent.findings(kind: "self_sourced_syn_drop").isEmpty }, "log:\n\(agent.log)")
            let finding = try #require(try agent.findings(kind: "self_sourced_syn_drop").first)
            let evidence = try #require(finding["evidence"] as? [String: Any])
            #expect(evidence["frontend"] as? String == "[fd00:9::9]:80")
            #expect(evidence["localTargets"] as? [String] == ["[fd00:1::10]:8080"])
        }
    }

    @Test func aFlushedOrDeletedTableIsRecreatedAndDetectionGoesOn() throws {
        try withNamespaces(["inst", "lb"]) { nss in
            let (instance, lb) = (nss[0], nss[1])
            _ = try lab(instance, lb)
            try instance.activateConntrack()
            let agent = try AgentProcess(in: instance)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try eventually(within: 3) { try probeMode(agent) })
            #expect(eventually(within: 2) { probeTable(instance).contains("10.0.1.10") }, "the node's address is in the set")

            // Issue 12: an idle agent never dumps its table; it learns of changes from nf_tables'
            // notifications, and reinstalls within moments (it used to look once a second).
            let checks = try agent.metrics().value("pathwatch_syn_probe_checks_total")
            Thread.sleep(forTimeInterval: 2)
            #expect(try agent.metrics().value("pathwatch_syn_probe_checks_total") == checks, "no checks while nothing happens")
            try instance.exec(["nft", "flush", "table", "inet", "pathwatch"])
            #expect(eventually(within: 0.5) { probeTable(instance).contains("log group 196") }, "recreated after a flush")
            try instance.exec(["nft", "delete", "table", "inet", "pathwatch"])
            #expect(eventually(within: 0.5) { probeTable(instance).contains("log group 196") }, "recreated after a delete")
            try instance.exec(["nft", "add", "rule", "inet", "pathwatch", "selfsourced_syn", "counter", "accept"])
            #expect(
                eventually(within: 0.5) { !probeTable(instance).contains("counter accept") },
                "a rule someone else added to the agent's chain is replaced")
            #expect(try eventually(within: 2) { (try agent.metrics().value("pathwatch_syn_probe_reinstalls_total") ?? 0) >= 3 })
            #expect(agent.log.contains("flushed, deleted or changed by someone else; recreated it"))
            #expect(agent.log.contains("nft (pid "), "the log names who changed the table:\n\(agent.log)")
            #expect(eventually(within: 1) { probeTable(instance).contains("10.0.1.10") }, "the set is filled again")
            // A flushed set is refilled; the rules were not touched, so it is not a reinstall.
            try instance.exec(["nft", "flush", "set", "inet", "pathwatch", "local4"])
            #expect(eventually(within: 0.5) { probeTable(instance).contains("10.0.1.10") }, "\(probeTable(instance))")

            #expect(!HairpinLab.connect(from: instance, to: "10.0.9.9", port: 80, timeout: 2))
            let finding = try #require(try agent.findings(kind: "self_sourced_syn_drop").first)
            #expect((finding["evidence"] as? [String: Any])?["frontend"] as? String == "10.0.9.9:80")
        }
    }

    @Test func aSecondAgentOnTheSameLogGroupFallsBackToTheCounter() throws {
        try withNamespaces(["inst", "lb"]) { nss in
            let (instance, lb) = (nss[0], nss[1])
            _ = try lab(instance, lb)
            let first = try AgentProcess(in: instance)
            defer { first.stop() }
            try first.waitUntilReady()
            #expect(try eventually(within: 3) { try probeMode(first) })
            let second = try AgentProcess(in: instance)
            defer { second.stop() }
            try second.waitUntilReady()
            #expect(eventually(within: 3) { second.log.contains("cannot install the self-sourced SYN probe") }, "log:\n\(second.log)")
            #expect(try second.get("/readyz").body.contains("self-sourced SYN detection: counter"))
            #expect(try second.metrics().value("pathwatch_self_sourced_syn_detection", ["mode": "counter"]) == 1)
            #expect(probeTable(instance).components(separatedBy: "log group 196").count == 3, "the first agent's two rules, once each")
        }
    }

    @Test func withTheProbeOffTheMartianSourceCounterRaisesTheFinding() throws {
        try withNamespaces(["inst", "lb"]) { nss in
            let (instance, lb) = (nss[0], nss[1])
            _ = try lab(instance, lb)
            let agent = try AgentProcess(in: instance, config: "conntrack:\n  enabled: false\nhairpin:\n  probe: false\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try agent.get("/readyz").body.contains("self-sourced SYN detection: counter"))
            #expect(try agent.metrics().value("pathwatch_self_sourced_syn_detection", ["mode": "counter"]) == 1)
            #expect(probeTable(instance).isEmpty, "no table when the probe is off")

            // The node connects to the frontend; the balancer sends the SYN straight back.
            #expect(!HairpinLab.connect(from: instance, to: "10.0.9.9", port: 80, timeout: 3))
            #expect(try eventually(within: 2, every: 0.2) { try !agent.findings(kind: "self_sourced_syn_drop").isEmpty })
            #expect((try agent.metrics().value("pathwatch_self_sourced_syn_drops_total") ?? 0) >= 1)
            let finding = try #require(try agent.findings(kind: "self_sourced_syn_drop").first)
            #expect((finding["evidence"] as? [String: Any])?["detection"] as? String != nil)
        }
    }

    /// Issue 13: a pod masqueraded to the node's address (Calico natOutgoing, flannel): the
    /// returning SYN carries the node's address; the frontend is named through the reply tuple.
    @Test func aMasqueradedPodsFrontendIsNamed() throws {
        try withNamespaces(["inst", "lb", "pod"]) { nss in
            let (instance, lb, pod) = (nss[0], nss[1], nss[2])
            _ = try lab(instance, lb)
            try masqueradedPod(pod, on: instance)
            let agent = try AgentProcess(in: instance)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try eventually(within: 3) { try probeMode(agent) })
            let client = try BackgroundProcess(
                ["socat", "-u", "OPEN:/dev/null", "TCP:10.0.9.9:80,connect-timeout=3"], in: pod, name: "pod-client")
            defer { client.stop() }
            #expect(
                try eventually(within: 2, every: 0.05) { try !agent.findings(kind: "self_sourced_syn_drop").isEmpty }, "log:\n\(agent.log)")
            let finding = try #require(try agent.findings(kind: "self_sourced_syn_drop").first)
            let evidence = try #require(finding["evidence"] as? [String: Any])
            #expect(evidence["frontend"] as? String == "10.0.9.9:80", "named through the reply tuple, not unknown")
            #expect((evidence["sourceEndpoints"] as? [String])?.first?.hasPrefix("10.0.1.10:") == true)
        }
    }

    /// Issue 13: the node's own DNS through a UDP balancer that keeps the client address (for UDP
    /// it cannot be turned off): the datagram comes back with the node's address and is dropped.
    @Test func aUDPInstanceHairpinIsNamed() throws {
        try withNamespaces(["inst", "lb"]) { nss in
            let (instance, lb) = (nss[0], nss[1])
            _ = try lab(instance, lb)
            try lb.nft(
                "table ip lbudp {\n chain pre { type nat hook prerouting priority -100; ip daddr 10.0.9.9 udp dport 53 dnat to 10.0.1.10:5353; }\n}\n"
            )
            try instance.activateConntrack()
            let agent = try AgentProcess(in: instance)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try eventually(within: 3) { try probeMode(agent) })
            _ = try? instance.exec(["socat", "-T1", "-", "UDP4:10.0.9.9:53"], input: "query\n", check: false)
            #expect(
                try eventually(within: 2, every: 0.05) { try !agent.findings(kind: "self_sourced_syn_drop").isEmpty }, "log:\n\(agent.log)")
            let finding = try #require(try agent.findings(kind: "self_sourced_syn_drop").first)
            let evidence = try #require(finding["evidence"] as? [String: Any])
            #expect(evidence["protocol"] as? String == "udp")
            #expect(evidence["frontend"] as? String == "10.0.9.9:53")
            #expect(evidence["localTargets"] as? [String] == ["10.0.1.10:5353"])
            #expect(try eventually(within: 2) { (try agent.metrics().value("pathwatch_self_sourced_udp_drops_total") ?? 0) >= 1 })
        }
    }

    /// Issue 13: strict reverse-path filtering (RHEL-family images, CIS hardening): the pod's SYN
    /// that the balancer sends back arrives on the uplink with the pod's address and is dropped
    /// in routing before conntrack confirms it. The probe's reverse-path rule sees it first.
    @Test func aPodHairpinUnderStrictReversePathFilteringIsNamed() throws {
        try withNamespaces(HairpinTests.labels) { nss in
            let lab = try HairpinLab(nss, backend: .podB)
            try lab.node.exec(["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1", "net.ipv4.conf.lb0.rp_filter=1"])
            let listener = try BackgroundProcess(
                ["socat", "TCP-LISTEN:8080,fork,reuseaddr", "SYSTEM:echo hello"], in: lab.podB, name: "listener")
            defer { listener.stop() }
            let agent = try AgentProcess(in: lab.node)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try eventually(within: 3) { try probeMode(agent) })
            let client = try BackgroundProcess(
                ["socat", "-u", "OPEN:/dev/null", "TCP:10.0.9.9:80,connect-timeout=3"], in: lab.podA, name: "client")
            defer { client.stop() }
            #expect(
                try eventually(within: 1.5, every: 0.05) { try agent.findings(kind: "hairpin").count == 1 }, "log:\n\(agent.log)")
            let finding = try #require(try agent.findings(kind: "hairpin").first)
            let evidence = try #require(finding["evidence"] as? [String: Any])
            #expect(evidence["frontend"] as? String == "10.0.9.9:80")
            #expect(evidence["localTargets"] as? [String] == ["10.0.1.21:8080"])
            #expect((evidence["origin"] as? String)?.contains("reverse-path check") == true, "\(evidence)")
            #expect((evidence["origin"] as? String)?.contains("lb0") == true, "\(evidence)")
            #expect(try agent.findings(kind: "self_sourced_syn_drop").isEmpty, "the node's own address is not involved")
        }
    }

    /// Issue 17 item 6: an operator's table of the same name (a set and a drop chain) is never
    /// deleted; the agent says so and uses the counter.
    @Test func anOperatorsTableOfTheSameNameIsLeftAlone() throws {
        try withNamespaces(["inst", "lb"]) { nss in
            let (instance, lb) = (nss[0], nss[1])
            _ = try lab(instance, lb)
            try instance.nft(
                "table inet pathwatch {\n set blocked { type ipv4_addr; elements = { 192.0.2.7 } }\n chain drop_in { type filter hook input priority 0; policy accept; ip saddr @blocked drop; }\n}\n"
            )
            let agent = try AgentProcess(in: instance)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(eventually(within: 3) { agent.log.contains("is not pathwatch's") }, "log:\n\(agent.log)")
            #expect(try agent.get("/readyz").body.contains("self-sourced SYN detection: counter"))
            #expect(agent.stop() == 0)
            let table = probeTable(instance)
            #expect(table.contains("set blocked"), "the operator's set is still there:\n\(table)")
            #expect(table.contains("ip saddr @blocked drop"), "and the drop chain:\n\(table)")
            #expect(!table.contains("selfsourced_syn"))
        }
    }

    /// Issue 17 item 6: a rule rewritten to another log group (same names, same comment) is
    /// noticed and put back.
    @Test func aRuleRewrittenToAnotherLogGroupIsPutBack() throws {
        try withNamespaces(["inst", "lb"]) { nss in
            let (instance, lb) = (nss[0], nss[1])
            _ = try lab(instance, lb)
            let agent = try AgentProcess(in: instance)
            defer { agent.stop() }
            try agent.waitUntilReady()
            #expect(try eventually(within: 3) { try probeMode(agent) })
            // Every rule as it was, but the TCP one replaced (same handle place) to log to group 7.
            let listing = try instance.exec(["nft", "-a", "list", "chain", "inet", "pathwatch", "selfsourced_syn"])
            let tcpLine = try #require(
                listing.split(separator: "\n").first { $0.contains("tcp flags") && $0.contains("fib saddr type local") })
            let handle = try #require(tcpLine.components(separatedBy: "# handle ").last?.trimmingCharacters(in: .whitespaces))
            try instance.nft(
                "replace rule inet pathwatch selfsourced_syn handle \(handle) iif != \"lo\" tcp flags & (syn | ack) == syn fib saddr type local counter limit rate 100/second log group 7 snaplen 128 comment \"\(SynProbeRuleComment.text)\"\n"
            )
            #expect(
                eventually(within: 3) { probeTable(instance).contains("log group 196") && !probeTable(instance).contains("log group 7 ") },
                "\(probeTable(instance))")
            #expect(try eventually(within: 2) { (try agent.metrics().value("pathwatch_syn_probe_reinstalls_total") ?? 0) >= 1 })
        }
    }
}

/// The probe rule's comment as the agent writes it (kept here: the integration tests do not
/// link the agent).
enum SynProbeRuleComment {
    static let text = "pathwatch: TCP SYNs with a local source address arriving from outside (instance hairpin)"
    static let udp = "pathwatch: UDP with a local source address arriving from outside (instance hairpin)"
}
