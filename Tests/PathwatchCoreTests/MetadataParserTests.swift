import Netlink
import Testing

@testable import PathwatchCore

/// The instance metadata answers are untrusted input: recorded-style answers parse, anything
/// else is a `garbage` error with a message, never a trap.
@Suite("Metadata answer parsers")
struct MetadataParserTests {
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    func reason(_ body: () throws(MetadataError) -> Any) -> MetadataError.Reason? {
        do {
            _ = try body()
            return nil
        } catch { return error.reason }
    }

    @Test func recordedAnswersParse() throws {
        #expect(try InstanceMetadata.macs(bytes("0e:49:61:0f:c3:11/\n0E:5A:00:11:22:33/\n")) == ["0e:49:61:0f:c3:11", "0e:5a:00:11:22:33"])
        #expect(try InstanceMetadata.macs(bytes("0e:49:61:0f:c3:11/")) == ["0e:49:61:0f:c3:11"])
        #expect(try InstanceMetadata.prefix(bytes("10.4.2.0/24"), "subnet", family: .inet) == IPPrefix("10.4.2.0/24"))
        #expect(
            try InstanceMetadata.prefixes(bytes("10.0.0.0/16\n100.64.0.0/16\n"), "vpc", family: .inet) == [
                IPPrefix("10.0.0.0/16")!, IPPrefix("100.64.0.0/16")!,
            ])
        #expect(
            try InstanceMetadata.prefixes(bytes("2600:1f18:1234:5600::/56"), "vpc6", family: .inet6) == [
                IPPrefix("2600:1f18:1234:5600::/56")!
            ])
        #expect(try InstanceMetadata.token(bytes("AQAEAFq3xyz_-==")) == "AQAEAFq3xyz_-==")
        #expect(try InstanceMetadata.deviceNumber(bytes("1")) == 1)
        #expect(try InstanceMetadata.prefixes(bytes("10.0.0.0/16\r\n10.0.0.0/16\r\n"), "vpc", family: .inet) == [IPPrefix("10.0.0.0/16")!])
    }

    @Test(arguments: [
        "", "\n", "not a mac/", "0e:49:61:0f:c3/", "0e:49:61:0f:c3:1g/", "0e:49:61:0f:c3:11:22/", "<html>oops</html>",
        "0e:49:61:0f:c3:11/\u{0}",
    ])
    func garbageMACListsAreRefused(_ body: String) {
        #expect(reason { () throws(MetadataError) in try InstanceMetadata.macs(bytes(body)) } == .garbage)
    }

    @Test(arguments: [
        "", "10.4.2.0", "10.4.2.1/24", "10.4.2.0/33", "fd00::/64", "10.4.2.0/24\n10.4.3.0/24", "<?xml version=\"1.0\"?>", "999.1.1.0/24",
    ])
    func garbageSubnetsAreRefused(_ body: String) {
        #expect(reason { () throws(MetadataError) in try InstanceMetadata.prefix(bytes(body), "subnet", family: .inet) } == .garbage)
    }

    @Test func oversizedAndBinaryAnswersAreRefused() {
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: InstanceMetadata.maxBodyBytes + 1)
        #expect(reason { () throws(MetadataError) in try InstanceMetadata.macs(big) } == .garbage)
        #expect(reason { () throws(MetadataError) in try InstanceMetadata.token([0xFF, 0xFE, 0x00]) } == .garbage)
        let many = (0..<(InstanceMetadata.maxBlocks + 1)).map { "10.\($0).0.0/16" }.joined(separator: "\n")
        #expect(reason { () throws(MetadataError) in try InstanceMetadata.prefixes(bytes(many), "vpc", family: .inet) } == .garbage)
        #expect(reason { () throws(MetadataError) in try InstanceMetadata.token(bytes("two words")) } == .garbage)
        #expect(reason { () throws(MetadataError) in try InstanceMetadata.deviceNumber(bytes("-1")) } == .garbage)
        #expect(reason { () throws(MetadataError) in try InstanceMetadata.deviceNumber(bytes("99999999999999999999")) } == .garbage)
    }
}

@Suite("Metadata discovery expectations")
struct MetadataExpectationTests {
    static func node(defaultVia: Int32?) -> NodeState {
        var state = NodeState()
        state.apply(.linkChanged(Link(index: InterfaceIndex(2), name: "net0", mac: [0x0e, 0, 0, 0, 0, 0x01])))
        state.apply(.linkChanged(Link(index: InterfaceIndex(3), name: "net1", mac: [0x0e, 0, 0, 0, 0, 0x02])))
        state.apply(.linkChanged(Link(index: InterfaceIndex(4), name: "net2", mac: [0x0e, 0, 0, 0, 0, 0x03])))
        if let defaultVia {
            state.apply(
                .routeAdded(
                    Route(
                        destination: IPPrefix("0.0.0.0/0")!,
                        nextHops: [NextHop(gateway: IPAddress("10.4.1.1"), interface: InterfaceIndex(defaultVia))])))
        }
        return state
    }

    static let vpc = [IPPrefix("10.0.0.0/8")!]
    static let answers = [
        MetadataInterface(mac: "0e:00:00:00:00:01", deviceNumber: 0, subnetIPv4: IPPrefix("10.4.1.0/24")!, vpcIPv4: vpc),
        MetadataInterface(
            mac: "0e:00:00:00:00:02", deviceNumber: 1, subnetIPv4: IPPrefix("10.4.2.0/24")!, vpcIPv4: vpc,
            subnetIPv6: [IPPrefix("fd00:4:2::/64")!], vpcIPv6: [IPPrefix("fd00::/48")!]),
        MetadataInterface(mac: "0e:00:00:00:00:99", deviceNumber: 2, subnetIPv4: IPPrefix("10.4.9.0/24")!, vpcIPv4: vpc),
    ]

    @Test func thePrimaryGetsNothingAndSecondariesReachTheVPCViaTheirSubnetGateway() {
        let result = MetadataExpectations.compute(Self.answers, state: Self.node(defaultVia: 2))
        #expect(result.primary == "net0")
        #expect(result.subnetRoutes == ["net1": [IPPrefix("10.0.0.0/8")!, IPPrefix("fd00::/48")!]])
        #expect(result.gateways == ["net1": IPAddress("10.4.2.1")!])
        #expect(result.unmatched == ["0e:00:00:00:00:99"])
    }

    @Test func theDefaultRouteDecidesBeforeTheDeviceNumber() {
        let result = MetadataExpectations.compute(Self.answers, state: Self.node(defaultVia: 3))
        #expect(result.primary == "net1")
        #expect(result.subnetRoutes.keys.sorted() == ["net0"])
        #expect(result.gateways["net0"] == IPAddress("10.4.1.1"))
    }

    @Test func withoutADefaultRouteDeviceNumberZeroIsPrimary() {
        #expect(MetadataExpectations.compute(Self.answers, state: Self.node(defaultVia: nil)).primary == "net0")
        // A default route through an interface the metadata does not know (net2) does not count.
        #expect(MetadataExpectations.compute(Self.answers, state: Self.node(defaultVia: 4)).primary == "net0")
    }

    @Test func noPrimaryMeansNoExpectations() {
        var answers = Self.answers
        answers[0].deviceNumber = nil
        let result = MetadataExpectations.compute(answers, state: Self.node(defaultVia: nil))
        #expect(result.primary == nil)
        #expect(result.subnetRoutes.isEmpty)
    }
}
