import Netlink
import Testing

@testable import PathwatchCore

@Suite("Config parser")
struct ConfigParserTests: ConfigParsing {
    @Test func theDesignExampleParses() throws {
        let config = try parse(
            """
            listen: "0.0.0.0:9469"
            autofix: dry-run              # off | dry-run | on
            subnetRoutes:                 # destinations an interface must reach via its own subnet gateway
              net1: ["10.5.2.0/24"]
            """)
        #expect(config.listen == ListenAddress(host: "0.0.0.0", port: 9469))
        #expect(config.autofix == .dryRun)
        #expect(config.subnetRoutes == ["net1": [IPPrefix("10.5.2.0/24")!]])
    }

    @Test func anEmptyFileMeansDefaults() throws {
        #expect(try parse("") == AgentConfig())
        #expect(try parse("# only a comment\n") == AgentConfig())
    }

    @Test func everyKeyParses() throws {
        let config = try parse(
            """
            listen: "[::1]:9000"
            autofix: on
            logFormat: json
            logLevel: debug
            netlink:
              receiveBufferBytes: 1048576
            conntrack:
              enabled: false
              receiveBufferBytes: 65536
              kernelFilter: false
              maxTrackedFlows: 5000
            http:
              maxConnections: 10
              idleTimeoutSeconds: 5
              maxRequestHeadBytes: 4096
              requestHeadTimeoutSeconds: 3
              writeTimeoutSeconds: 7
              loopbackReserve: 0
              stateFrom: any
            """)
        #expect(config.listen == ListenAddress(host: "::1", port: 9000))
        #expect(config.autofix == .on)
        #expect(config.logFormat == .json)
        #expect(config.logLevel == .debug)
        #expect(config.netlink.receiveBufferBytes == 1_048_576)
        #expect(!config.conntrack.enabled)
        #expect(!config.conntrack.kernelFilter)
        #expect(config.conntrack.maxTrackedFlows == 5000)
        #expect(config.http.maxConnections == 10)
        #expect(config.http.requestHeadTimeoutSeconds == 3)
        #expect(config.http.writeTimeoutSeconds == 7)
        #expect(config.http.loopbackReserve == 0)
        #expect(config.http.stateFrom == .any)
        #expect(AgentConfig().http.stateFrom == .loopback)
        #expect(refusal("http:\n  stateFrom: everyone\n")?.key == "http.stateFrom")
    }

    @Test func startupPageReleaseDelay() throws {
        #expect(AgentConfig().releaseStartupPagesAfterSeconds == 30)
        #expect(try parse("releaseStartupPagesAfterSeconds: 0\n").releaseStartupPagesAfterSeconds == 0)
        #expect(try parse("releaseStartupPagesAfterSeconds: 2.5\n").releaseStartupPagesAfterSeconds == 2.5)
        #expect(refusal("releaseStartupPagesAfterSeconds: -1\n")?.key == "releaseStartupPagesAfterSeconds")
        #expect(refusal("releaseStartupPagesAfterSeconds: soon\n")?.key == "releaseStartupPagesAfterSeconds")
    }

    @Test func anUnknownKeyIsRefusedWithItsLine() throws {
        let error = try #require(refusal("listen: \"0.0.0.0:1\"\nautofx: on\n"))
        #expect(error.key == "autofx")
        #expect(error.line == 2)
        #expect(error.description.contains("test.yaml:2"))
        #expect(error.description.contains("unknown key"))
    }

    @Test func anUnknownNestedKeyNamesItsPath() throws {
        let error = try #require(refusal("conntrack:\n  enable: true\n"))
        #expect(error.key == "conntrack.enable")
        #expect(error.line == 2)
    }

    @Test func aWrongValueNamesKeyValueAndChoices() throws {
        let error = try #require(refusal("autofix: yes-please\n"))
        #expect(error.key == "autofix")
        #expect(error.value == "yes-please")
        #expect(error.line == 1)
        #expect(error.description.contains("off, dry-run, on"))
    }

    @Test(arguments: [
        ("listen: 9469\n", "listen"),
        ("listen: \"300.1.1.1:80\"\n", "listen"),
        ("listen: \"0.0.0.0:70000\"\n", "listen"),
        ("conntrack:\n  receiveBufferBytes: lots\n", "conntrack.receiveBufferBytes"),
        ("conntrack:\n  receiveBufferBytes: 10\n", "conntrack.receiveBufferBytes"),
        ("conntrack:\n  enabled: maybe\n", "conntrack.enabled"),
        ("subnetRoutes:\n  net1: \"10.5.2.0/24\"\n", "subnetRoutes.net1"),
        ("subnetRoutes:\n  net1: [\"10.5.2.7/24\"]\n", "subnetRoutes.net1"),
        ("subnetRoutes:\n  net1: [\"10.5.2.0/33\"]\n", "subnetRoutes.net1"),
        ("subnetRoutes:\n  this-name-is-far-too-long: []\n", "subnetRoutes.this-name-is-far-too-long"),
        ("http:\n  maxConnections: 0\n", "http.maxConnections"),
        ("logLevel: loud\n", "logLevel"),
    ])
    func badValuesAreRefused(text: String, key: String) throws {
        let error = try #require(refusal(text))
        #expect(error.key == key)
        #expect(error.line != nil)
    }

    @Test func aDuplicateKeyIsRefused() throws {
        let error = try #require(refusal("autofix: on\nautofix: off\n"))
        #expect(error.description.contains("twice"))
    }

    @Test func brokenYAMLIsRefusedWithAPosition() throws {
        let error = try #require(refusal("listen: [unclosed\n"))
        #expect(error.description.contains("not valid YAML"))
        #expect(error.line != nil)
    }

    @Test func aTopLevelListIsRefused() throws {
        let error = try #require(refusal("- a\n- b\n"))
        #expect(error.description.contains("mapping"))
    }
}

@Suite("Config parser: subnet routes and repair")
struct RepairConfigTests {
    @Test func repairKeysParse() throws {
        let config = try ConfigParser.parse(
            """
            subnetRoutes:
              net1: ["10.5.2.0/24", "fd00:5:2::/64"]
            subnetGateways:
              net1: "10.4.2.254"
            controlSocket: /run/pathwatch-ns1/control.sock
            repair:
              strategy: policy-routing
              policyTableBase: 20000
              policyRulePriority: 1000
              maxInstallsPerWindow: 5
              windowSeconds: 60
            """, file: "t.yaml")
        #expect(config.subnetRoutes["net1"]?.count == 2)
        #expect(config.subnetGateways["net1"] == IPAddress("10.4.2.254"))
        #expect(config.controlSocket == "/run/pathwatch-ns1/control.sock")
        #expect(config.repair.strategy == .policyRouting)
        #expect(config.repair.policyTableBase == 20000)
        #expect(config.repair.maxInstallsPerWindow == 5)
    }

    @Test(arguments: [
        ("subnetGateways:\n  net1: gateway\n", "subnetGateways.net1"),
        ("controlSocket: relative/path\n", "controlSocket"),
        ("repair:\n  strategy: magic\n", "repair.strategy"),
        ("repair:\n  policyRulePriority: 0\n", "repair.policyRulePriority"),
        ("repair:\n  retries: 3\n", "repair.retries"),
    ])
    func badRepairValuesAreRefused(text: String, key: String) {
        do {
            _ = try ConfigParser.parse(text, file: "t.yaml")
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.key == key)
        }
    }
}

@Suite("Config parser: paths")
struct PathsConfigTests {
    @Test func pathsKeysParse() throws {
        let config = try ConfigParser.parse(
            """
            paths:
              enabled: true
              sampleIntervalSeconds: 1
              windowSeconds: 6
              sustainSeconds: 3
              clearSeconds: 4
              retransmitRatio: 0.05
              collapsedCwnd: 3
              collapsedCwndShare: 0.4
              minBytes: 100000
              worstPeers: 3
              maxTrackedSockets: 1000
              outOfOrderRatio: 0.1
              minPeerBytes: 32768
              lossyPeerShare: 0.6
              minPeers: 3
              peerWeightCapBytes: 500000
              peerPrefixLengthIPv4: 32
              peerPrefixLengthIPv6: 56
              maxPeers: 100
              maxPeerFindings: 2
              privateRanges: ["10.0.0.0/8", "fd00::/8"]
            """, file: "t.yaml")
        let p = config.paths
        #expect(p.sampleIntervalSeconds == 1)
        #expect(p.windowSeconds == 6)
        #expect(p.sustainSeconds == 3)
        #expect(p.clearSeconds == 4)
        #expect(p.retransmitRatio == 0.05)
        #expect(p.collapsedCwnd == 3)
        #expect(p.collapsedCwndShare == 0.4)
        #expect(p.minBytes == 100_000)
        #expect(p.worstPeers == 3)
        #expect(p.maxTrackedSockets == 1000)
        #expect(p.privateRanges == [IPPrefix("10.0.0.0/8")!, IPPrefix("fd00::/8")!])
        let engine = p.engineSettings
        #expect(engine.detector.minBytes == 100_000)
        #expect(engine.aggregator.collapsedCongestionWindow == 3)
        #expect(engine.detector.outOfOrderRatio == 0.1)
        #expect(engine.detector.minPeerBytes == 32768)
        #expect(engine.detector.lossyPeerShare == 0.6)
        #expect(engine.detector.minPeers == 3)
        #expect(engine.detector.peerWeightCapBytes == 500_000)
        #expect(engine.aggregator.classifier.peerPrefixLengthIPv4 == 32)
        #expect(engine.aggregator.classifier.peerPrefixLengthIPv6 == 56)
        #expect(engine.detector.maxPeers == 100)
        #expect(engine.aggregator.maxPeersPerRound == 100)
        #expect(engine.maxPeerFindings == 2)
        #expect(try ConfigParser.parse("", file: "t").paths == AgentConfig.PathSettings())
    }

    @Test func badPathsValuesAreRefusedWithTheirLine() {
        func refusal(_ text: String) -> ConfigError? {
            do {
                _ = try ConfigParser.parse(text, file: "t.yaml")
                return nil
            } catch { return error }
        }
        let ratio = refusal("paths:\n  retransmitRatio: 2\n")
        #expect(ratio?.key == "paths.retransmitRatio")
        #expect(ratio?.line == 2)
        #expect(refusal("paths:\n  privateRanges: [\"10.0.0.1/8\"]\n")?.key == "paths.privateRanges")
        #expect(refusal("paths:\n  minPeers: 1\n")?.key == "paths.minPeers")
        #expect(refusal("paths:\n  peerPrefixLengthIPv4: 33\n")?.key == "paths.peerPrefixLengthIPv4")
        #expect(refusal("paths:\n  privateRanges: 10.0.0.0/8\n")?.key == "paths.privateRanges")
        #expect(refusal("paths:\n  windowSecond: 5\n")?.key == "paths.windowSecond")
        #expect(refusal("paths:\n  sampleIntervalSeconds: 10\n  windowSeconds: 15\n")?.key == "paths.windowSeconds")
        #expect(refusal("paths:\n  enabled: yes\n")?.key == "paths.enabled")
    }
}
