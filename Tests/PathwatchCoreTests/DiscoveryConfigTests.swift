import Netlink
import Testing

@testable import PathwatchCore

@Suite("Config parser: discovery")
struct DiscoveryConfigTests: ConfigParsing {
    @Test func offByDefault() throws {
        let config = try parse("")
        #expect(!config.discovery.metadata)
        #expect(config.discovery.endpoint == MetadataEndpoint(host: "169.254.169.254", port: 80))
        #expect(config.discovery.timeoutSeconds == 2)
        #expect(config.discovery.refreshSeconds == 300)
    }

    @Test func everyDiscoveryKeyParses() throws {
        let config = try parse(
            """
            repair:
              strategy: policy-routing
            discovery:
              metadata: true
              endpoint: "http://[fd00:ec2::254]:8080/"
              timeoutSeconds: 0.5
              refreshSeconds: 60
            """)
        #expect(config.discovery.metadata)
        #expect(config.discovery.endpoint == MetadataEndpoint(host: "fd00:ec2::254", port: 8080))
        #expect(config.discovery.endpoint.description == "http://[fd00:ec2::254]:8080")
        #expect(config.discovery.timeoutSeconds == 0.5)
        #expect(config.discovery.refreshSeconds == 60)
        // The order of the two sections does not matter for the cross-key check.
        #expect(try parse("discovery: { metadata: true }\nrepair: { strategy: policy-routing }\n").discovery.metadata)
        #expect(try parse("discovery: { metadata: false }\n").discovery.metadata == false)
    }

    @Test func metadataNeedsPolicyRoutingAndSaysWhere() throws {
        let error = try #require(refusal("autofix: on\n\ndiscovery:\n  refreshSeconds: 30\n  metadata: true\n"))
        #expect(error.line == 5, "the line of discovery.metadata: \(error)")
        #expect(error.key == "discovery.metadata")
        #expect(error.message.contains("repair.strategy: policy-routing"))
        #expect(error.message.contains("main-table"))
        #expect(
            refusal("repair:\n  strategy: main-table\ndiscovery:\n  metadata: true\n")?.description.contains("discovery.metadata") == true)
    }

    @Test(arguments: [
        ("discovery:\n  metadata: yes\n", "discovery.metadata"),
        ("discovery:\n  endpoint: \"https://169.254.169.254\"\n", "discovery.endpoint"),
        ("discovery:\n  endpoint: \"http://metadata.internal\"\n", "discovery.endpoint"),
        ("discovery:\n  endpoint: \"http://169.254.169.254/latest\"\n", "discovery.endpoint"),
        ("discovery:\n  endpoint: \"http://169.254.169.254:0\"\n", "discovery.endpoint"),
        ("discovery:\n  endpoint: \"http://fd00:ec2::254\"\n", "discovery.endpoint"),
        ("discovery:\n  endpoint: \"http://\"\n", "discovery.endpoint"),
        ("discovery:\n  timeoutSeconds: 0\n", "discovery.timeoutSeconds"),
        ("discovery:\n  timeoutSeconds: 61\n", "discovery.timeoutSeconds"),
        ("discovery:\n  refreshSeconds: 0.5\n", "discovery.refreshSeconds"),
        ("discovery:\n  refreshSeconds: forever\n", "discovery.refreshSeconds"),
        ("discovery:\n  metdata: true\n", "discovery.metdata"),
        ("discovery: true\n", "discovery"),
    ])
    func badDiscoveryValuesAreRefusedByKey(_ text: String, _ key: String) throws {
        let error = try #require(refusal(text))
        #expect(error.key == key, "\(error)")
        #expect(error.line != nil)
    }

    @Test func endpointForms() {
        #expect(MetadataEndpoint("http://169.254.169.254") == MetadataEndpoint(host: "169.254.169.254", port: 80))
        #expect(MetadataEndpoint("http://169.254.169.254:8080") == MetadataEndpoint(host: "169.254.169.254", port: 8080))
        #expect(MetadataEndpoint("http://[fd00:ec2::254]") == MetadataEndpoint(host: "fd00:ec2::254", port: 80))
        #expect(MetadataEndpoint("http://169.254.169.254:") == nil)
        #expect(MetadataEndpoint("http://169.254.169.254:８０") == nil)
        #expect(MetadataEndpoint("http://[10.0.0.1]") == nil)
        #expect(MetadataEndpoint("http://[fd00::1]x") == nil)
    }
}
