import Glibc
import Netlink
import NetlinkIO
import Testing

/// nf_tables transactions, rule dumps, nfnetlink_log and the kernel-filtered conntrack lookup
/// against the live kernel, in a throwaway namespace; traffic stays on its loopback.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces, nf_tables tables and nflog bindings"))
struct NfTablesPrivilegedTests {
    static let table = "pwtest"
    static let chain = "syn"
    static let group: UInt16 = 77

    /// `tcp flags & (syn|ack) == syn counter log group 77`, in a prerouting raw chain: loopback
    /// traffic passes prerouting too.
    static let rule: [NfTablesExpression] = [
        .meta(key: .transportProtocol, destination: .one), .compare(.equal, source: .one, data: [6]),
        .payload(base: .transportHeader, offset: 13, length: 1, destination: .one),
        .bitwise(source: .one, destination: .one, mask: [0x12], xor: [0]), .compare(.equal, source: .one, data: [0x02]),
        .counter, .log(group: group, snapLength: 128, prefix: nil),
    ]

    struct Observed: Sendable {
        var logged: NflogPacket?
        var clientPort: UInt16 = 0
        var rules: [NfTablesRule] = []
        var lookedUp: [ConntrackFlow] = []
        var rejected: NetlinkError?
        var rulesAfterDelete: [NfTablesRule] = []
        var secondBind: NetlinkError?
    }

    @Test func aLoggedSynIsReceivedCountedAndTracedToItsFlow() async throws {
        let port: UInt16 = 18081
        let namespace = try TestNamespace(prefix: "pwct")
        defer { namespace.delete() }
        try namespace.activateConntrack()

        let observed = try await namespace.onThread { () throws -> Observed in
            var observed = Observed()
            let log = try NflogSocket(group: Self.group)
            try log.setReceiveTimeout(milliseconds: 300)
            do {
                _ = try NflogSocket(group: Self.group)
            } catch let error as NetlinkError {
                observed.secondBind = error
            }
            let tables = try NfTablesClient()
            let family = NfTablesFamily.inet
            try tables.commit(
                [
                    .newNfTable(family: family, name: Self.table, comment: "test"),
                    .newNfBaseChain(family: family, table: Self.table, name: Self.chain, hook: .preroutingRaw),
                    .newNfRule(family: family, table: Self.table, chain: Self.chain, expressions: Self.rule, comment: "probe"),
                ], "install")

            let listener = try LoopbackTCP.listen(port: port)
            let client = try LoopbackTCP.connect(port: port)
            let server = try LoopbackTCP.accept(listener)
            defer { for fd in [listener, client, server] { _ = close(fd) } }
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(client, $0, &length) }
            }
            observed.clientPort = UInt16(bigEndian: address.sin_port)

            let deadline = time(nil) + 5
            while observed.logged == nil, time(nil) < deadline {
                _ = try log.receive { packet in
                    if packet.header?.destinationPort == port { observed.logged = packet }
                }
            }
            observed.rules = try tables.rules(family: family, table: Self.table, chain: Self.chain)
            observed.lookedUp = try ConntrackClient().flows(
                from: IPAddress("127.0.0.1")!, port: observed.clientPort, protocolNumber: .tcp)

            // A batch with a bad message changes nothing: the new table must not appear.
            do {
                try tables.commit(
                    [
                        .newNfTable(family: family, name: "pwtest_atomic"),
                        .newNfRule(family: family, table: "pwtest_atomic", chain: "missing", expressions: [.counter]),
                    ], "bad batch")
            } catch let error as NetlinkError {
                observed.rejected = error
            }
            try tables.commit([.deleteNfTable(family: family, name: Self.table)], "delete")
            observed.rulesAfterDelete = try tables.rules(family: family, table: Self.table, chain: Self.chain)
            log.unbind()
            return observed
        }

        let logged = try #require(observed.logged, "the SYN reached nfnetlink_log group \(Self.group)")
        #expect(logged.group == Self.group && logged.family == AddressFamily.inet)
        #expect(logged.inputInterface == 1, "loopback traffic comes in on lo")
        #expect(logged.header?.isTCPSyn == true)
        #expect(logged.header?.sourcePort == observed.clientPort)
        if case .kernel(let errno, _)? = observed.secondBind?.kind {
            #expect(errno == .notPermitted, "one listener per group: the kernel answers EPERM")
        } else {
            Issue.record("a second bind of the group should fail with EPERM, got \(String(describing: observed.secondBind))")
        }

        let rule = try #require(observed.rules.first)
        #expect(observed.rules.count == 1)
        #expect(rule.comment == "probe")
        #expect(rule.expressionNames == Self.rule.map(\.name))
        #expect((rule.counterPackets ?? 0) >= 1)

        #expect(observed.lookedUp.count == 1, "exactly the client's flow")
        #expect(observed.lookedUp.first?.original.destinationPort == port)

        if case .kernel(let errno, _)? = observed.rejected?.kind {
            #expect(errno == .noSuchFileOrDirectory)
        } else {
            Issue.record("the batch with a rule for a missing chain should fail, got \(String(describing: observed.rejected))")
        }
        let tables = try namespace.exec("nft", "list", "tables")
        #expect(!tables.contains("pwtest_atomic"), "an aborted batch leaves nothing behind")
        #expect(!tables.contains(Self.table), "deleted")
        #expect(observed.rulesAfterDelete.isEmpty)
    }
}
