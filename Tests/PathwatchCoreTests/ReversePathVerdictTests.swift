import Netlink
import PathwatchCore
import Testing

/// What a hairpin's evidence says about how the returning SYN dies, from the input interface's
/// `rp_filter` (IPv4) or the lack of one (IPv6).
@Suite("Reverse-path verdict")
struct ReversePathVerdictTests {
    @Test func strictLooseOffAndIPv6SayDifferentThings() {
        let strict = ReversePathVerdict.origin(family: .inet, interface: "eth1", rpFilter: 1)
        #expect(strict.contains("rp_filter=1 on eth1: routing drops it there"))
        let loose = ReversePathVerdict.origin(family: .inet, interface: "eth0", rpFilter: 2)
        #expect(loose.contains("rp_filter=2 on eth0 lets it through") && loose.contains("the client resets"))
        #expect(ReversePathVerdict.origin(family: .inet, interface: "eth0", rpFilter: 0).contains("rp_filter=0"))
        let v6 = ReversePathVerdict.origin(family: .inet6, interface: "eth0", rpFilter: 1)
        #expect(v6.contains("IPv6 has no rp_filter") && !v6.contains("rp_filter=1"))
        for text in [strict, loose, v6] { #expect(text.contains("fails the strict reverse-path check")) }
    }

    @Test func theKernelAppliesTheLargerOfAllAndTheInterface() {
        #expect(ReversePathVerdict.effective(all: 1, interface: 0) == 1)
        #expect(ReversePathVerdict.effective(all: 0, interface: 2) == 2)
        #expect(ReversePathVerdict.effective(all: 2, interface: 1) == 2)
        #expect(ReversePathVerdict.effective(all: nil, interface: nil) == nil)
    }
}
