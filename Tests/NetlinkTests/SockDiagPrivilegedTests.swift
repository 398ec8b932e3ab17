import Foundation
import Glibc
import Netlink
import NetlinkIO
import Testing

/// sock_diag and the ethtool ioctl against the live kernel, in a throwaway namespace.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces"))
struct SockDiagPrivilegedTests {
    struct Seen: Sendable {
        var sockets: [TCPSocketRecord] = []
        var veth: (driver: String, values: [(String, UInt64)])?
        var loopback: (driver: String, values: [(String, UInt64)])?
        var decodeErrors = 0
    }

    @Test func liveDumpSeesBothEndsWithTCPInfoAndEthtoolReadsAVeth() async throws {
        let port: UInt16 = 18090
        let namespace = try TestNamespace(prefix: "pwsd")
        defer { namespace.delete() }
        _ = try namespace.exec("ip", "link", "set", "lo", "up")
        _ = try namespace.exec("ip", "link", "add", "pwv0", "type", "veth", "peer", "name", "pwv1")
        let seen = try await namespace.onThread { () throws -> Seen in
            let listener = try LoopbackTCP.listen(port: port)
            let client = try LoopbackTCP.connect(port: port)
            let server = try LoopbackTCP.accept(listener)
            defer { for fd in [listener, client, server] { close(fd) } }
            let payload = [UInt8](repeating: 7, count: 50_000)
            var sent = 0
            while sent < payload.count {
                sent += payload[sent...].withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, 0) }
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            var received = 0
            while received < payload.count { received += recv(server, &buffer, buffer.count, 0) }
            var seen = Seen()
            let diag = try SockDiagClient()
            try diag.forEachTCPSocket(onDecodeError: { _ in seen.decodeErrors += 1 }) { seen.sockets.append($0) }
            let ethtool = try EthtoolReader()
            seen.veth = try ethtool.statistics(of: "pwv0")
            seen.loopback = try ethtool.statistics(of: "lo")
            #expect(try ethtool.statistics(of: "nosuchif0") == nil)
            return seen
        }
        #expect(seen.decodeErrors == 0)
        #expect(seen.sockets.count == 2, "only the connection's two ends are established here")
        let clientEnd = try #require(seen.sockets.first { $0.remotePort == port })
        let serverEnd = try #require(seen.sockets.first { $0.localPort == port })
        #expect(clientEnd.cookie != serverEnd.cookie)
        #expect(clientEnd.info?.bytesSent == 50_000)
        #expect(serverEnd.info?.bytesReceived == 50_000)
        #expect(clientEnd.info?.totalRetransmits == 0)
        // veth has statistics (peer_ifindex, per-queue counters) but no allowance counters.
        let veth = try #require(seen.veth)
        #expect(veth.driver == "veth")
        #expect(veth.values.contains { $0.0 == "peer_ifindex" })
        #expect(!veth.values.contains { NICAllowance(statisticName: $0.0) != nil })
        #expect(seen.loopback == nil || seen.loopback?.values.isEmpty == true)
    }

    /// The sampler's one-walk dump (`TCPDIAG_GETSOCK`, every family) returns exactly the rows
    /// of the two per-family dumps, IPv4 and IPv6 alike, with `tcp_info`.
    @Test func oneWalkOfEveryFamilySeesWhatTheTwoFamilyDumpsSee() async throws {
        let namespace = try TestNamespace(prefix: "pwsd6")
        defer { namespace.delete() }
        _ = try namespace.exec("ip", "link", "set", "lo", "up")
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        holder.arguments = [
            "netns", "exec", namespace.name, "python3", "-c",
            """
            import socket, sys
            l4 = socket.socket(); l4.bind(("127.0.0.1", 18091)); l4.listen()
            l6 = socket.socket(socket.AF_INET6); l6.bind(("::1", 18092)); l6.listen()
            c4 = socket.create_connection(("127.0.0.1", 18091)); c6 = socket.create_connection(("::1", 18092))
            s4, _ = l4.accept(); s6, _ = l6.accept()
            print("ready", flush=True); sys.stdin.read()
            """,
        ]
        let input = Pipe()
        let output = Pipe()
        holder.standardInput = input
        holder.standardOutput = output
        try holder.run()
        defer {
            try? input.fileHandleForWriting.close()
            holder.waitUntilExit()
        }
        let ready = output.fileHandleForReading.availableData
        #expect(String(decoding: ready, as: UTF8.self).hasPrefix("ready"))
        let (oneWalk, twoDumps) = try await namespace.onThread { () throws -> ([TCPSocketRecord], [TCPSocketRecord]) in
            let diag = try SockDiagClient()
            var oneWalk: [TCPSocketRecord] = []
            try diag.forEachTCPSocket { oneWalk.append($0) }
            var twoDumps: [TCPSocketRecord] = []
            try diag.forEachTCPSocket(family: .inet) { twoDumps.append($0) }
            try diag.forEachTCPSocket(family: .inet6) { twoDumps.append($0) }
            return (oneWalk, twoDumps)
        }
        #expect(oneWalk.count == 4, "two established ends per family")
        #expect(Set(oneWalk.map(\.cookie)) == Set(twoDumps.map(\.cookie)))
        #expect(oneWalk.filter { $0.family == .inet6 }.count == 2)
        #expect(oneWalk.allSatisfy { $0.info != nil })
    }

    @Test func allowanceNamesParseFromSyntheticEthtoolBuffers() throws {
        let names = ["tx_timeout", "bw_in_allowance_exceeded", "pps_allowance_exceeded", "conntrack_allowance_available"]
        var strings: [UInt8] = []
        strings.appendHost(Ethtool.getStrings)
        strings.appendHost(Ethtool.statisticsStringSet)
        strings.appendHost(UInt32(names.count))
        for name in names { strings += Array(name.utf8) + [UInt8](repeating: 0, count: Ethtool.stringLength - name.utf8.count) }
        var values: [UInt8] = []
        values.appendHost(Ethtool.getStatistics)
        values.appendHost(UInt32(names.count))
        for v: UInt64 in [0, 12, 0, 51299] { values.appendHost(v) }
        var parsed: [(String, UInt64)] = []
        try strings.withUnsafeBytes { s in
            try values.withUnsafeBytes { v in
                try Ethtool.forEachStatistic(strings: ByteReader(s), values: ByteReader(v)) { parsed.append(($0, $1)) }
            }
        }
        #expect(parsed.map(\.0) == names)
        #expect(parsed.map(\.1) == [0, 12, 0, 51299])
        #expect(parsed.compactMap { NICAllowance(statisticName: $0.0) } == [.bandwidthIn, .packetsPerSecond])
        // Names and values from different moments (the driver reconfigured): refused, not paired wrongly.
        var short = values
        short.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(3), toByteOffset: 4, as: UInt32.self) }
        #expect(throws: DecodeError.self) {
            try strings.withUnsafeBytes { s in
                try short.withUnsafeBytes { v in try Ethtool.forEachStatistic(strings: ByteReader(s), values: ByteReader(v)) { _, _ in } }
            }
        }
        // A names buffer cut short.
        let cut = Array(strings.prefix(Ethtool.stringsHeaderSize + 40))
        #expect(throws: DecodeError.self) {
            try cut.withUnsafeBytes { s in
                try values.withUnsafeBytes { v in try Ethtool.forEachStatistic(strings: ByteReader(s), values: ByteReader(v)) { _, _ in } }
            }
        }
    }
}
