import Glibc
import Netlink
import NetlinkIO
import Testing

/// The kernel-side event selection (libnetfilter_conntrack's nfct_filter on our socket) against
/// the live kernel, in a throwaway namespace: pings from several local source addresses, and only
/// the events of the selected sources reach the socket.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces, nft rules and ctnetlink subscriptions"))
struct ConntrackSourceFilterTests {
    static let selected = ["10.77.0.2", "10.77.1.9", "10.77.2.5", "fd77:0:0:1::9", "fd77:0:0:1::2"]
    static let leftOut = ["10.77.0.3", "fd77::3"]
    /// Several IPv4 prefixes, one IPv6 prefix (see `maxIPv6SourcePrefixes` for why one).
    static let filter = ["10.77.0.2/32", "10.77.1.0/24", "10.77.2.5/32", "fd77:0:0:1::/64"].compactMap { IPPrefix($0) }

    @Test func onlyEventsFromSelectedSourcesArrive() async throws {
        let seen = try await sourcesOfNewEvents(filter: Self.filter)
        #expect(seen == Set(Self.selected.compactMap(IPAddress.init)), "every selected source, the last IPv4 prefix too")
        #expect(seen.isDisjoint(with: Self.leftOut.compactMap(IPAddress.init)))
    }

    @Test func detachingDeliversEverythingAgain() async throws {
        let seen = try await sourcesOfNewEvents(filter: Self.filter, detachFirst: true)
        #expect(seen == Set((Self.selected + Self.leftOut).compactMap(IPAddress.init)))
    }

    @Test func tooManyPrefixesAreRefusedNotTruncated() async throws {
        let namespace = try TestNamespace(prefix: "pwct")
        defer { namespace.delete() }
        let tooManyIPv4 = (0..<128).map { IPPrefix(address: .v4(0x0A4D_0000 | UInt32($0)), length: 32) }
        let twoIPv6 = ["fd77::2/128", "fd77::5/128"].compactMap { IPPrefix($0) }
        let refused = try await namespace.onThread { () -> [Bool] in
            let events = try ConntrackEventSocket(receiveBufferBytes: 1 << 20, timeoutMilliseconds: 300)
            return [tooManyIPv4, twoIPv6].map { prefixes in
                do throws(NetlinkError) {
                    try events.attachSourceFilter(prefixes)
                    return false
                } catch { return true }
            }
        }
        #expect(refused == [true, true], "the library would silently ignore the 128th IPv4 prefix and match only the first IPv6 one")
    }

    /// Pings each source address to a local address (ICMP flows: one NEW event each) and returns
    /// the original sources of the NEW events the socket received.
    private func sourcesOfNewEvents(filter: [IPPrefix], detachFirst: Bool = false) async throws -> Set<IPAddress> {
        let namespace = try TestNamespace(prefix: "pwct")
        defer { namespace.delete() }
        try namespace.activateConntrack()
        for address in Self.selected + Self.leftOut + ["10.77.0.1", "fd77::1"] {
            try namespace.exec("ip", "addr", "add", address + (address.contains(":") ? "/128" : "/32"), "dev", "lo", "nodad")
        }
        let name = namespace.name
        return try await namespace.onThread { () throws -> Set<IPAddress> in
            let events = try ConntrackEventSocket(receiveBufferBytes: 1 << 20, timeoutMilliseconds: 300)
            try events.attachSourceFilter(filter)
            if detachFirst { try events.detachSourceFilter() }
            for source in Self.selected + Self.leftOut {
                let v6 = source.contains(":")
                _ = try runCommand(
                    [
                        "ip", "netns", "exec", name, "ping", v6 ? "-6" : "-4", "-c", "1", "-W", "1", "-I", source,
                        v6 ? "fd77::1" : "10.77.0.1",
                    ])
            }
            var sources: Set<IPAddress> = []
            while try events.receiveEvents({ event in
                if event.type == .new, event.flow.original.protocolNumber == .icmp || event.flow.original.protocolNumber == .icmpv6 {
                    sources.insert(event.flow.original.source)
                }
            }) {}
            return sources
        }
    }
}
