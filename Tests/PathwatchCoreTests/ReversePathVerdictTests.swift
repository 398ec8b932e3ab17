import Netlink
import PathwatchCore
import Testing

/// What a hairpin's evidence says about how the returning SYN dies, from the input interface's
/// `rp_filter` (IPv4); the held packets' texts are `ReversePathConfirmationsTests`.
@Suite("Reverse-path verdict")
struct ReversePathVerdictTests {
    @Test func strictFilteringSaysRoutingDropsIt() {
        let strict = ReversePathVerdict.routingDropOrigin(interface: "eth1")
        #expect(strict.contains("rp_filter=1 on eth1: routing drops it there") && strict.contains("a SYN"))
        #expect(ReversePathVerdict.routingDropOrigin(interface: nil, udp: true).contains("a UDP datagram from this node-local endpoint"))
        #expect(strict.contains("fails the strict reverse-path check"))
    }

    @Test func theKernelAppliesTheLargerOfAllAndTheInterface() {
        #expect(ReversePathVerdict.effective(all: 1, interface: 0) == 1)
        #expect(ReversePathVerdict.effective(all: 0, interface: 2) == 2)
        #expect(ReversePathVerdict.effective(all: 2, interface: 1) == 2)
        #expect(ReversePathVerdict.effective(all: nil, interface: nil) == nil)
    }
}
