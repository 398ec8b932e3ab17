import Netlink
import Testing

/// The Swift decoder against libnetfilter_conntrack on every recorded flow message.
@Suite struct ConntrackDifferentialTests {
    @Test(arguments: ConntrackFixture.flowFixtures)
    func swiftAgreesWithLibnetfilterConntrack(_ fixture: ConntrackFixture) throws {
        var compared = 0
        for bytes in try fixture.messages {
            try withMessage(bytes) { message in
                guard message.header.type == ConntrackMessageType.new || message.header.type == ConntrackMessageType.delete else {
                    return  // NLMSG_DONE of the dump
                }
                let swift = LibnfctFlow(try ConntrackFlow(message))
                let c = try #require(libnfctDecode(message), "libnetfilter_conntrack rejected a recorded message")
                #expect(swift == c, "message \(compared) of \(fixture.rawValue)")
                compared += 1
            }
        }
        #expect(compared >= 2)
    }
}
