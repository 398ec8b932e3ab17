import Netlink
import NetlinkIO
import Testing

/// nf_tables change notifications from the live kernel (a throwaway namespace): which table a
/// change touched, who sent it, and that the agent's own transactions can be told apart.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces and nf_tables tables"))
struct NfTablesNotificationTests {
    struct Seen: Sendable {
        var own: [NfTablesNotification] = []
        var foreign: [NfTablesNotification] = []
        var ownPort: UInt32 = 0
        var quiet = true
    }

    @Test func changesNameTheirTableAndTheirSender() async throws {
        let namespace = try TestNamespace(prefix: "pwnft")
        defer { namespace.delete() }
        let seen = try await namespace.onThread { () throws -> Seen in
            var seen = Seen()
            let events = try NfTablesEventSocket()
            try events.socket.setReceiveTimeout(milliseconds: 300)
            let tables = try NfTablesClient()
            seen.ownPort = tables.socket.portID
            let family = NfTablesFamily.inet
            try tables.commit(
                [
                    .newNfTable(family: family, name: "mine", comment: "test"),
                    .newNfBaseChain(family: family, table: "mine", name: "c", hook: .preroutingRaw),
                    .newNfRule(family: family, table: "mine", chain: "c", expressions: [.counter]),
                ], "install")
            while try events.receive({ seen.own.append($0) }) {}
            _ = try runCommand(["ip", "netns", "exec", namespace.name, "nft", "flush", "chain", "inet", "mine", "c"])
            _ = try runCommand(["ip", "netns", "exec", namespace.name, "nft", "add", "table", "ip", "other"])
            while try events.receive({ seen.foreign.append($0) }) {}
            // Packets counted are not changes: nothing more arrives.
            _ = try runCommand(["ip", "-n", namespace.name, "link", "set", "lo", "up"])
            _ = try runCommand(["ip", "netns", "exec", namespace.name, "ping", "-c", "1", "-W", "1", "127.0.0.1"])
            seen.quiet = try !events.receive({ _ in })
            return seen
        }
        let mine = { (n: NfTablesNotification) in n.table == "mine" && n.family == NfTablesFamily.inet }
        #expect(seen.own.filter(mine).map(\.message) == [0, 3, 6], "NEWTABLE, NEWCHAIN, NEWRULE: \(seen.own)")
        #expect(seen.own.allSatisfy { $0.portID == seen.ownPort })
        #expect(!seen.own.contains { $0.concerns(family: NfTablesFamily.inet, table: "mine", otherThan: seen.ownPort) })
        let flush = seen.foreign.filter(mine)
        #expect(flush.map(\.message) == [8], "DELRULE from nft: \(seen.foreign)")
        #expect(flush.allSatisfy { $0.concerns(family: NfTablesFamily.inet, table: "mine", otherThan: seen.ownPort) })
        #expect(seen.foreign.contains { $0.table == "other" && $0.family == AddressFamily(rawValue: 2) && $0.message == 0 })
        let generations = seen.foreign.filter { $0.message == 15 }
        #expect(generations.count == 2 && generations.allSatisfy { $0.processName == "nft" && $0.processID != nil }, "\(generations)")
        #expect(seen.quiet)
    }
}
