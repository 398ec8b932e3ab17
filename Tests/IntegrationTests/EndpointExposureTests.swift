import Foundation
import Testing

/// Issue 18: on a host-network DaemonSet any pod could read `/state` (every flow and route of the
/// node). A peer on the network now gets 403 for it, and still everything else; the node itself
/// (loopback) gets it; `http.stateFrom: any` opens it again.
@Suite(
    "Endpoint exposure", .serialized, .enabled(if: Namespace.isRoot, "needs root: creates network namespaces and runs the agent in them"))
struct EndpointExposureTests {
    /// GET from `client` to `address`; the status code (0 when nothing answered).
    func status(from client: Namespace, _ url: String) throws -> Int {
        Int(try client.exec(["curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", url], check: false)) ?? 0
    }

    @Test func aPeerOnTheNetworkGets403ForStateOnly() throws {
        try withNamespaces(["expose-node", "expose-peer"]) { namespaces in
            let (node, peer) = (namespaces[0], namespaces[1])
            try node.connect("eth0", to: peer, "eth0", localAddress: "10.88.0.1/24", remoteAddress: "10.88.0.2/24")
            for (config, peerGetsState) in [("", false), ("http:\n  stateFrom: any\n", true)] {
                let agent = try AgentProcess(in: node, config: "conntrack:\n  enabled: false\n" + config, host: "0.0.0.0")
                defer { agent.stop() }
                try agent.waitUntilReady()
                let base = "http://10.88.0.1:\(agent.port)"
                #expect(try status(from: peer, base + "/state") == (peerGetsState ? 200 : 403))
                for path in ["/metrics", "/findings", "/healthz", "/readyz"] {
                    #expect(try status(from: peer, base + path) == 200, "\(path)")
                }
                #expect(try status(from: node, "http://127.0.0.1:\(agent.port)/state") == 200)
                #expect(agent.stop() == 0)
            }
        }
    }
}
