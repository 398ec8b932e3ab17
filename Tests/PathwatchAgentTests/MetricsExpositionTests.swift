import Foundation
import Logging
import Netlink
import PathwatchCore
import Testing

@testable import PathwatchAgent

/// The whole `/metrics` page for a known model, against a committed golden file, and the
/// documented metric list against what is really served.
@Suite("Metrics exposition")
struct MetricsExpositionTests {
    static let goldenFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/metrics.txt")
    static let metricsDoc = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/metrics.md").standardized

    /// A node with two interfaces, an address and a route, and every metric family touched.
    static func populatedMetrics() -> AgentMetrics {
        let metrics = AgentMetrics(version: "1.2.3", commit: "abc123")
        metrics.setAutofixMode(.dryRun)
        var state = NodeState()
        var stats = LinkStatistics()
        stats.rxBytes = 1000
        stats.txBytes = 2000
        stats.rxPackets = 10
        stats.txPackets = 20
        stats.rxDropped = 1
        state.apply(
            .linkChanged(
                Link(index: InterfaceIndex(1), name: "lo", mtu: 65536, flags: [.up, .loopback], operState: .unknown, statistics: stats)))
        state.apply(.linkChanged(Link(index: InterfaceIndex(2), name: "eth0", mtu: 9001, flags: [.up], operState: .up, statistics: stats)))
        state.apply(.addressAdded(InterfaceAddress(interface: InterfaceIndex(2), address: IPAddress("10.0.1.10")!, prefixLength: 24)))
        state.apply(
            .routeAdded(
                Route(
                    destination: IPPrefix("0.0.0.0/0")!, nextHops: [NextHop(gateway: IPAddress("10.0.1.1"), interface: InterfaceIndex(2))]))
        )
        state.apply(.ruleAdded(Rule(family: .inet6, priority: 0, table: .local)))
        let model = ModelReading(state, ready: true)
        metrics.register(ModelCollector { model })
        metrics.countOverrun(.rtnetlink)
        metrics.countResync(.rtnetlink)
        metrics.countConntrackEvent(.new, by: 3)
        metrics.countConfigReload(success: true)
        var cpu = ConntrackCPUStatistics()
        cpu.found = 5
        cpu.insertFailed = 1
        metrics.conntrack.record(
            ConntrackStatistics(perCPU: [cpu], global: ConntrackGlobalStatistics(entries: 3, maxEntries: 262_144)), kernelHasFlows: false)
        var refusals = HTTPServerStatistics.Snapshot()
        (refusals.tlsFailures, refusals.unauthorized, refusals.authBusy) = (1, 2, 3)
        metrics.register(HTTPCollector(read: { [refusals] in refusals }, webSecurity: true))
        metrics.setFindingCounts([])
        metrics.findingCauses.set([
            Finding(kind: .hairpin, key: "10.0.9.9:80", summary: "s", firstSeen: Date(timeIntervalSince1970: 0)),
            Finding(kind: .missingSubnetRoute, key: "net1 10.5.2.0/24", summary: "s", firstSeen: Date(timeIntervalSince1970: 0)),
        ])
        KubernetesMetrics(registry: metrics.registry).count(.patch, .success)
        let web = WebSecurityMetrics(registry: metrics.registry)
        web.countReload(success: true)
        var hairpin = HairpinEngine.Statistics()
        hairpin.flows = ["10.0.9.9:80": 1]
        hairpin.unanswered = ["10.0.9.9:80": 1]
        hairpin.tracked = 2
        metrics.register(HairpinCollector(statistics: { [hairpin] in hairpin }))
        var selfSourced = SelfSourcedSynSlice.Statistics()
        selfSourced.drops = 3
        selfSourced.martianPackets = 13
        selfSourced.mode = .counter
        metrics.register(SelfSourcedSynCollector(statistics: { [selfSourced] in selfSourced }, reversePath: FakeMartianCounter()))
        let discovered = DiscoveredSubnetRoutes(notify: ChangeSignal())
        discovered.recordFailure(.timeout, at: .now)
        let subnetRoutes = SubnetRouteCollector(discovered: discovered)
        var routeStatistics = SubnetRouteStatistics()
        routeStatistics.repairs[.success] = 1
        routeStatistics.missing[MissingRouteLabels(interface: "net1", destination: "10.5.2.0/24", gateway: "10.4.2.1")] = true
        subnetRoutes.publish(routeStatistics)
        metrics.register(subnetRoutes)
        metrics.register(NeighbourViewCollector(view: { NeighbourView.Summary(entries: 2, droppedTotal: 1) }))
        populatePaths(metrics.paths)
        metrics.register(
            ConntrackSelectionCollector(
                table: LiveConntrackTable(maxFlows: 262_144),
                selector: ConntrackEventSelector(kernelFilter: true, logger: Logger(label: "test"))))
        return metrics
    }

    /// One public socket with loss and one private socket without, one ENA-like interface.
    static func populatePaths(_ paths: PathMetrics) {
        var publicSample = ClassSample()
        publicSample.sockets = 1
        publicSample.activeSockets = 1
        publicSample.bytesSent = 1000
        publicSample.bytesRetransmitted = 250
        publicSample.collapsedSockets = 1
        publicSample.congestionWindows.add(2)
        publicSample.roundTripTimes.add(20_000)
        var privateSample = ClassSample()
        privateSample.sockets = 2
        privateSample.bytesSent = 4000
        var publicPeer = PeerRound(path: .public, address: IPAddress("198.51.100.20")!)
        publicPeer.bytesSent = 1000
        publicPeer.bytesRetransmitted = 250
        var otherPeer = PeerRound(path: .public, address: IPAddress("2001:db8::20")!)
        otherPeer.bytesReceived = 300_000
        otherPeer.dataSegmentsIn = 200
        otherPeer.outOfOrderPackets = 30
        var detector = PathDegradationDetector.Settings()
        detector.minPeerBytes = 1000
        let sample = PathSample(
            time: .now, classes: [.public: publicSample, .private: privateSample],
            peers: [PeerClassifier().peer(publicPeer.address): publicPeer, PeerClassifier().peer(otherPeer.address): otherPeer])
        var snapshot = PathHealthEngine.Snapshot()
        var judge = PathDegradationDetector(settings: detector)
        snapshot.assessment = judge.ingest(sample)
        for path in PathClass.allCases {
            snapshot.totals[path] = .init()
            snapshot.totals[path]!.bytesSent = sample[path].bytesSent
            snapshot.totals[path]!.bytesRetransmitted = sample[path].bytesRetransmitted
        }
        snapshot.totals[.public]!.bytesReceived = 300_000
        snapshot.sockets = 3
        var kernel = KernelTCPCounters()
        kernel.retransmittedSegments = 444
        kernel.lostRetransmits = 215
        kernel.sackRecoveryFailures = 35
        kernel.synRetransmits = 2
        kernel.inNoRoutes = 0
        kernel.outNoRoutes = 61
        kernel.dsackOldSent = 12
        kernel.dsackOutOfOrderSent = 1
        kernel.outOfOrderQueued = 900
        snapshot.kernel = kernel
        snapshot.nic = [
            NICAllowanceReading(
                interface: "eth0", driver: "ena",
                counters: Dictionary(uniqueKeysWithValues: NICAllowance.allCases.map { ($0, UInt64(0)) }))
        ]
        paths.publish(snapshot)
        paths.recordSample(success: true, seconds: 0.25)
    }

    /// Exposition order follows the client library's dictionaries; sorting the lines within each
    /// metric block makes the comparison stable.
    static func normalized(_ text: String) -> String {
        var blocks: [String: [String]] = [:]
        var current = ""
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# HELP ") { current = String(line.split(separator: " ")[2]) }
            blocks[current, default: []].append(line)
        }
        return blocks.keys.sorted().map { name in
            let lines = blocks[name]!
            let header = lines.filter { $0.hasPrefix("#") }
            let samples = lines.filter { !$0.hasPrefix("#") }.sorted()
            return (header + samples).joined(separator: "\n")
        }.joined(separator: "\n") + "\n"
    }

    @Test func theExpositionMatchesTheGoldenFile() throws {
        let served = Self.normalized(String(decoding: Self.populatedMetrics().exposition(), as: UTF8.self))
        if ProcessInfo.processInfo.environment["PATHWATCH_REGENERATE_GOLDEN"] == "1" {
            try served.write(to: Self.goldenFile, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: Self.goldenFile, encoding: .utf8)
        #expect(
            served == golden,
            "regenerate with PATHWATCH_REGENERATE_GOLDEN=1 swift test --filter MetricsExpositionTests if the change is intended")
    }

    /// The registry and the slices' collectors write one page: a family written by both (a
    /// series moved to a collector but left in the registry) is invalid exposition, which
    /// Prometheus refuses ("second HELP line"). The golden comparison sorts lines, so it would
    /// not notice; this does.
    @Test func everyFamilyIsWrittenOnce() {
        let text = String(decoding: Self.populatedMetrics().exposition(), as: UTF8.self)
        let help = text.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.map { String($0.split(separator: " ")[2]) }
        let repeated = Dictionary(grouping: help, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
        #expect(repeated.isEmpty, "written twice: \(repeated)")
    }

    @Test func everyServedMetricIsDocumentedAndEveryDocumentedOneIsServed() throws {
        let served = Set(
            String(decoding: Self.populatedMetrics().exposition(), as: UTF8.self).split(separator: "\n")
                .filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        let doc = try String(contentsOf: Self.metricsDoc, encoding: .utf8)
        let documented = Set(
            doc.split(separator: "\n").filter { $0.hasPrefix("| `pathwatch_") }
                .compactMap { $0.split(separator: "`").dropFirst().first.map(String.init) })
        #expect(served.subtracting(documented).isEmpty, "served but not in docs/metrics.md: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "in docs/metrics.md but not served: \(documented.subtracting(served).sorted())")
    }

    /// A page served from the model as it is now, read at scrape time like the agent does.
    static func page(of state: borrowing NodeState) -> String {
        let metrics = AgentMetrics(version: "t", commit: "t")
        let model = ModelReading(state, ready: true)
        metrics.register(ModelCollector { model })
        return String(decoding: metrics.exposition(), as: UTF8.self)
    }

    @Test func aRemovedInterfaceLosesItsSeries() {
        var state = NodeState()
        state.apply(.linkChanged(Link(index: InterfaceIndex(7), name: "veth7", flags: [.up], operState: .up, statistics: LinkStatistics())))
        #expect(Self.page(of: state).contains("interface=\"veth7\""))
        state.apply(.linkRemoved(Link(index: InterfaceIndex(7), name: "veth7")))
        #expect(!Self.page(of: state).contains("veth7"))
    }

    /// The kernel's value is served as it is: after a recreated interface restarts its counters,
    /// the page shows the new, lower value, which `rate()` reads as a counter reset.
    @Test func aKernelCounterThatGoesBackwardsRestarts() {
        var state = NodeState()
        var stats = LinkStatistics()
        stats.rxBytes = 500
        state.apply(.linkChanged(Link(index: InterfaceIndex(3), name: "eth1", statistics: stats)))
        stats.rxBytes = 800
        state.updateStatistics(of: Link(index: InterfaceIndex(3), name: "eth1", statistics: stats))
        #expect(Self.page(of: state).contains("pathwatch_link_rx_bytes_total{interface=\"eth1\"} 800"))
        stats.rxBytes = 40  // the interface was recreated
        state.updateStatistics(of: Link(index: InterfaceIndex(3), name: "eth1", statistics: stats))
        #expect(Self.page(of: state).contains("pathwatch_link_rx_bytes_total{interface=\"eth1\"} 40"))
    }

    /// Without `--web-config` the page carries exactly the rejection reasons it did before.
    @Test func theWebConfigsRejectionReasonsAppearOnlyWithAWebConfig() {
        var plain = PrometheusPage()
        HTTPCollector { HTTPServerStatistics.Snapshot() }.collect(into: &plain)
        let plainText = String(decoding: plain.bytes, as: UTF8.self)
        #expect(plainText.contains("reason=\"connection_limit\""))
        for reason in ["tls", "unauthorized", "auth_busy"] { #expect(!plainText.contains("reason=\"\(reason)\"")) }
        var secured = PrometheusPage()
        HTTPCollector(read: { HTTPServerStatistics.Snapshot() }, webSecurity: true).collect(into: &secured)
        let securedText = String(decoding: secured.bytes, as: UTF8.self)
        for reason in ["tls", "unauthorized", "auth_busy"] { #expect(securedText.contains("reason=\"\(reason)\"")) }
    }
}
