import Testing

@testable import Netlink

/// `ip route get` as iproute2 sends it: for IPv4 with `RTM_F_LOOKUP_TABLE`, so the kernel names the table
/// the policy rules picked (without it the answer always says main, and a finding could not
/// name the rule that sent traffic elsewhere).
@Suite("Route lookup request")
struct RouteLookupRequestTests {
    @Test func theLookupAsksForTheTableThatWasUsed() {
        let bytes = NetlinkRequest.lookupRoute(to: IPAddress("10.5.2.1")!, from: IPAddress("10.4.2.10")!).finish(sequence: 1)
        let flags = bytes[(16 + 8)..<(16 + 12)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        #expect(flags == 0x1000)
        #expect(bytes[16 + 1] == 32 && bytes[16 + 2] == 32, "destination and source are host prefixes")
    }

    @Test func anIPv6LookupCarriesNoFlagsStrictCheckingWouldRefuse() {
        let bytes = NetlinkRequest.lookupRoute(to: IPAddress("fd00:5:2::1")!, from: IPAddress("fd00:4:2::10")!).finish(sequence: 1)
        #expect(bytes[(16 + 8)..<(16 + 12)].allSatisfy { $0 == 0 })
    }
}
