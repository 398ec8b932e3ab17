import Foundation
import Testing

/// The socket sample replays its last walk while the namespace's TCP segment totals stand still
/// (``QuietSocketSample``): a connection that opens after a quiet spell must be seen, must stay
/// counted while it idles (replayed, not forgotten), and must go when it closes.
@Suite(
    "Path sample: replayed while TCP is silent", .serialized,
    .enabled(if: Namespace.isRoot && Shell.exists("socat"), "needs root (namespaces) and socat"))
struct QuietSampleTests {
    @Test func aConnectionIsSeenAfterAQuietSpellKeptWhileIdleAndGoneWhenClosed() throws {
        try withNamespaces(["quiet", "peer"]) { nss in
            let (node, peer) = (nss[0], nss[1])
            try node.connect("net0", to: peer, "peer0", localAddress: "10.77.0.1/24", remoteAddress: "10.77.0.2/24")
            let agent = try AgentProcess(in: node, config: "paths:\n  sampleIntervalSeconds: 0.5\n")
            defer { agent.stop() }
            try agent.waitUntilReady()
            func sockets() throws -> Double { try agent.metrics().value("pathwatch_path_sockets", ["path": "private"]) ?? -1 }
            Thread.sleep(forTimeInterval: 1.5)  // silent: the samples are replays of an empty walk
            #expect(try sockets() == 0)

            let server = try BackgroundProcess(["socat", "TCP-LISTEN:9000,reuseaddr", "SYSTEM:cat"], in: peer, name: "server")
            defer { server.stop() }
            Thread.sleep(forTimeInterval: 0.3)
            let client = try BackgroundProcess(["socat", "-u", "TCP:10.77.0.2:9000", "STDOUT"], in: node, name: "client")
            let seen = try eventually(within: 5, every: 0.2) { try sockets() == 1 }
            #expect(seen, "the new connection is sampled")
            Thread.sleep(forTimeInterval: 2)  // idle after its handshake: replayed samples
            #expect(try sockets() == 1, "an idle connection stays counted while the sample is replayed")
            client.stop()
            let gone = try eventually(within: 5, every: 0.2) { try sockets() == 0 }
            #expect(gone, "the closed connection is gone")
        }
    }
}
