import Glibc
import Netlink
import NetlinkIO
import Testing

/// ctnetlink against the live kernel, in throwaway namespaces. Traffic stays on the namespace's
/// loopback; the root namespace is never changed.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces, nft rules and ctnetlink subscriptions"))
struct ConntrackPrivilegedTests {
    struct Observed: Sendable {
        var newEvents = 0
        var destroyEvents = 0
        var newStates: [TCPConntrackState?] = []
        var dumpedFlows: [ConntrackFlow] = []
        var statistics: ConntrackStatistics?
        var receiveBufferSize = 0
    }

    @Test func eventsDumpAndStatisticsInANamespace() async throws {
        let connections = 5
        let port: UInt16 = 18080
        let namespace = try TestNamespace(prefix: "pwct")
        defer { namespace.delete() }
        try namespace.activateConntrack()

        let observed = try await namespace.onThread { () throws -> Observed in
            var observed = Observed()
            let events = try ConntrackEventSocket(receiveBufferBytes: 4 << 20, timeoutMilliseconds: 300)
            observed.receiveBufferSize = events.receiveBufferSize
            let client = try ConntrackClient()

            func pump(untilDestroyed wanted: Int? = nil, untilNew wantedNew: Int? = nil) throws {
                let deadline = time(nil) + 10
                while time(nil) < deadline {
                    let got = try events.receiveEvents { event in
                        guard event.flow.original.destinationPort == port, event.flow.original.protocolNumber == .tcp else { return }
                        switch event.type {
                        case .new:
                            observed.newEvents += 1
                            observed.newStates.append(event.flow.tcpState)
                        case .destroy: observed.destroyEvents += 1
                        case .update: break
                        }
                    }
                    let done = (wantedNew.map { observed.newEvents >= $0 } ?? true) && (wanted.map { observed.destroyEvents >= $0 } ?? true)
                    if done, !got { return }  // Reached the count and the socket went quiet.
                }
            }

            let listener = try LoopbackTCP.listen(port: port)
            var sockets = [listener]
            defer { for socket in sockets { _ = close(socket) } }
            for _ in 0..<connections {
                sockets.append(try LoopbackTCP.connect(port: port))
                sockets.append(try LoopbackTCP.accept(listener))
            }
            try pump(untilNew: connections)

            observed.dumpedFlows = try client.dumpFlows().filter { $0.original.destinationPort == port }
            observed.statistics = try client.readStatistics()

            // Close first (the client side, then the server side) so no packet follows the
            // flush: conntrack would pick a mid-stream TCP packet up as a NEW flow again.
            for fd in sockets.dropFirst() { close(fd) }
            sockets = [listener]
            usleep(200_000)
            try namespace.exec("conntrack", "-F")
            try pump(untilDestroyed: connections)
            return observed
        }

        #expect(observed.receiveBufferSize >= 4 << 20, "SO_RCVBUFFORCE should grant the request (the kernel doubles it)")
        #expect(observed.newEvents == connections)
        #expect(observed.newStates.allSatisfy { $0 == .synSent })
        #expect(observed.destroyEvents == connections)
        #expect(observed.dumpedFlows.count == connections)
        #expect(observed.dumpedFlows.allSatisfy { $0.tcpState == .established && $0.status.contains(.seenReply) })
        #expect(Set(observed.dumpedFlows.compactMap(\.id)).count == connections)
        let statistics = try #require(observed.statistics)
        #expect(statistics.perCPU.count == (try possibleCPUCount()))
        #expect(statistics.perCPU.map(\.cpu) == Array(0..<statistics.perCPU.count))
        #expect((statistics.global?.entries ?? 0) >= UInt32(connections))
        #expect((statistics.global?.maxEntries ?? 0) > 0)
    }

    @Test func overrunIsReportedNotHidden() async throws {
        let port: UInt16 = 18081
        let namespace = try TestNamespace(prefix: "pwct")
        defer { namespace.delete() }
        try namespace.activateConntrack()

        let outcome = try await namespace.onThread { () throws -> String in
            // The smallest queue the kernel allows, and far more events than fit, unread.
            let events = try ConntrackEventSocket(receiveBufferBytes: 1, timeoutMilliseconds: 300)
            let listener = try LoopbackTCP.listen(port: port)
            var sockets = [listener]
            defer { for socket in sockets { _ = close(socket) } }
            for _ in 0..<64 {
                sockets.append(try LoopbackTCP.connect(port: port))
                sockets.append(try LoopbackTCP.accept(listener))
            }
            do throws(NetlinkError) {
                while try events.receiveEvents({ _ in }) {}
                return "drained without an overrun"
            } catch {
                return error.kind == .overrun ? "overrun" : "\(error)"
            }
        }
        #expect(outcome == "overrun")
    }
}
