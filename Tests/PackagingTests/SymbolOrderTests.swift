import Foundation
import Testing

/// `scripts/symbol-order.txt.gz` lays out the functions an agent runs from start-up to rest
/// together (scripts/build-release), ~4 MiB of resident memory. A stale file costs that memory
/// silently, so it is checked against the code as it is now.
@Suite("Release link: symbol order")
struct SymbolOrderTests {
    @Test func theFileStillNamesMostOfTheAgentsOwnFunctions() throws {
        let listed = try Tool.run(["gzip", "-dc", "scripts/symbol-order.txt.gz"]).output.split(separator: "\n")
        #expect(listed.count > 1000, "only \(listed.count) functions: regenerate with Benchmarks/profile-symbol-order.sh")
        let ours = listed.filter {
            $0.range(of: #"^\$s\d+(PathwatchAgent|PathwatchCore|Netlink|NetlinkIO)"#, options: .regularExpression) != nil
        }
        // The debug build beside the tests defines the same mangled names for the same code
        // (83% of the listed ones when the file was made; the rest are release-only
        // specializations and merged functions).
        let defined = Set(
            try Tool.run(["nm", "--defined-only", Tool.binary]).output.split(separator: "\n").compactMap { $0.split(separator: " ").last })
        let found = ours.filter { defined.contains($0) }.count
        #expect(ours.count > 500)
        #expect(
            Double(found) >= 0.6 * Double(ours.count),
            "\(found) of \(ours.count) listed pathwatch functions still exist: regenerate scripts/symbol-order.txt.gz (sudo Benchmarks/profile-symbol-order.sh)"
        )
    }
}
