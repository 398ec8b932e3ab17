import FoundationEssentials
import Netlink
import NetlinkIO
import PathwatchCore

/// The path slice's inputs from the kernel: sock_diag for the TCP sockets, `/proc/net/snmp` and
/// `/proc/net/netstat` for the TCP counters, `SIOCETHTOOL` for the NIC allowance counters. The
/// only part of the slice that needs root.
///
/// `/proc/net/snmp` is read first in each round: when its TCP segment totals have not moved
/// since a small walk, the walk is replayed (``QuietSocketSample``) instead of done again.
final class KernelPathSource: PathSampleSource {
    private let client: SockDiagClient
    private let ethtool: EthtoolReader?
    private let state: LiveNodeState
    /// Where the kernel counters are read; the agent's own network namespace.
    private let procNet: String
    /// Interfaces whose driver lacks the counters (veth, lo): re-checked about once a minute,
    /// not every round, so a node with hundreds of pod veths does not pay three ioctls each.
    private var withoutAllowances: Set<String> = []
    private var rounds = 0
    /// The last small walk, replayed while the namespace's TCP is silent (an idle node).
    private var quiet = QuietSocketSample<TCPSocketRecord>()
    /// `/proc/net/snmp` as read at the start of this round's socket sample, for its counters.
    private var roundSNMP: String?
    private let roundsPerRecheck: Int

    init(state: LiveNodeState, procNet: String, sampleIntervalSeconds: Double) throws {
        client = try SockDiagClient()
        ethtool = try? EthtoolReader()
        self.state = state
        self.procNet = procNet
        roundsPerRecheck = max(1, Int(60 / sampleIntervalSeconds))
    }

    func forEachSocket(_ body: (TCPSocketRecord) -> Void) throws -> Int {
        let snmp = readProcNet("snmp")
        roundSNMP = snmp
        let totals = TCPSegmentTotals(snmp: snmp)
        if let sockets = quiet.replay(at: totals) {
            sockets.forEach(body)
            return 0
        }
        quiet.beginWalk()
        var decodeErrors = 0
        try client.forEachTCPSocket(onDecodeError: { _ in decodeErrors += 1 }) { record in
            quiet.walked(record)
            body(record)
        }
        quiet.completeWalk(totals: decodeErrors == 0 ? totals : nil)
        return decodeErrors
    }

    func kernelCounters() -> KernelTCPCounters {
        let snmp = roundSNMP ?? readProcNet("snmp")
        roundSNMP = nil
        return KernelTCPCounters(snmp: snmp, netstat: readProcNet("netstat"))
    }

    private func readProcNet(_ file: String) -> String {
        (try? String(contentsOfFile: "\(procNet)/\(file)", encoding: .utf8)) ?? ""
    }

    func nicAllowances() -> [NICAllowanceReading] {
        rounds += 1
        if rounds % roundsPerRecheck == 0 { withoutAllowances.removeAll() }
        guard let ethtool else { return [] }
        let interfaces = state.read { model in model.links.values.map(\.name) }
        var readings: [NICAllowanceReading] = []
        for interface in interfaces.sorted() where !withoutAllowances.contains(interface) {
            guard let statistics = try? ethtool.statistics(of: interface) else {
                withoutAllowances.insert(interface)
                continue
            }
            var counters: [NICAllowance: UInt64] = [:]
            for (name, value) in statistics.values {
                if let allowance = NICAllowance(statisticName: name) { counters[allowance] = value }
            }
            if counters.isEmpty {
                withoutAllowances.insert(interface)
            } else {
                readings.append(NICAllowanceReading(interface: interface, driver: statistics.driver, counters: counters))
            }
        }
        return readings
    }
}
