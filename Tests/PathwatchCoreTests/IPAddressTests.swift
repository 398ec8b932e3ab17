import Netlink
import Testing

@Suite("IP addresses and prefixes")
struct IPAddressTests {
    @Test(arguments: [
        "10.0.1.10", "0.0.0.0", "255.255.255.255", "::", "::1", "fd00::21", "2001:db8::1:0:0:1", "fe80::1:2:3:4", "1:2:3:4:5:6:7:8",
    ])
    func roundTrips(text: String) throws {
        let address = try #require(IPAddress(text))
        #expect(address.description == text)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4x", "1::2::3", ":::", "12345::", "g::1", "1:2:3:4:5:6:7:8:9", " 1.2.3.4",
    ])
    func rejects(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func v4MappedTailParses() {
        #expect(IPAddress("::ffff:10.0.0.1") == .v6(0, 0x0000_ffff_0a00_0001))
    }

    @Test func prefixesMaskAndContain() throws {
        let p = try #require(IPPrefix("10.4.2.0/24"))
        #expect(p.contains(IPAddress("10.4.2.10")!))
        #expect(!p.contains(IPAddress("10.4.3.10")!))
        #expect(!p.contains(IPAddress("::1")!))
        #expect(IPPrefix("10.4.2.10/24") == nil, "host bits set")
        #expect(IPPrefix("10.4.2.10/24", allowHostBits: true) != nil)
        #expect(IPPrefix("fd00::/8")?.contains(IPAddress("fd12::1")!) == true)
        #expect(IPAddress("fd12:3456::1")!.masked(to: 72) == IPAddress("fd12:3456::"))
        #expect(IPAddress("10.1.2.3")!.masked(to: 0) == IPAddress("0.0.0.0"))
    }
}
