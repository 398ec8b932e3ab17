import Testing

@testable import PathwatchCore

@Suite("rt_cache statistics")
struct RouteCacheStatisticsTests {
    /// Recorded on this machine (kernel 6.18, 2 CPUs): `cat /proc/net/stat/rt_cache`.
    static let recorded = """
        entries  in_hit   in_slow_tot in_slow_mc in_no_route in_brd   in_martian_dst in_martian_src out_hit  out_slow_tot out_slow_mc gc_total gc_ignored gc_goal_miss gc_dst_overflow in_hlist_search out_hlist_search
        00000007 00000000 00000175    00000000   00000000    00000000 00000000       0000000a       00000000 000002a9     00000000    00000000 00000000   00000000     00000000        00000000        00000000
        00000007 00000000 00000124    00000000   00000000    00000000 00000000       00000003       00000000 000002a2     00000000    00000000 00000000   00000000     00000000        00000000        00000000

        """

    @Test func columnsAreSummedOverCPUs() throws {
        let totals = try RouteCacheStatistics.parse(Self.recorded)
        #expect(totals["in_martian_src"] == 13)
        #expect(totals["in_slow_tot"] == 0x175 + 0x124)
        #expect(totals["entries"] == 14)
    }

    @Test(arguments: [
        "", "garbage", "entries in_hit\n1 2\n", "entries in_martian_src\n", "entries in_martian_src\n0000000g 00000001\n",
        "entries in_martian_src\n00000001\n", "entries in_martian_src\n00000001 00000002 00000003\n",
        "entries in_martian_src\n1 11111111111111111111111\n",
    ])
    func damagedFilesAreRefused(text: String) {
        #expect(throws: RouteCacheStatistics.ParseError.self) { try RouteCacheStatistics.parse(text) }
    }
}
