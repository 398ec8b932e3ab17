import Netlink
import PathwatchCore
import Synchronization

/// The path slice's metrics: per-class socket aggregates and peer breadth, the verdict, the
/// kernel's TCP counters, cloud NIC allowance counters, and what the sampling costs.
///
/// Rendered at scrape time from the engine's last ``PathHealthEngine/Snapshot`` (copied out
/// under the lock, then written), nothing mirrored into the registry. Label values are the two
/// path classes, fixed percentiles and states, the node's interfaces and the allowance names.
public final class PathMetrics: ScrapeCollector {
    private struct State {
        var snapshot = PathHealthEngine.Snapshot()
        var samples: [Bool: UInt64] = [true: 0, false: 0]
        var sampleSeconds = 0.0
        var lastDuration = 0.0
    }

    private let state = Mutex(State())

    static let quantiles: [Double] = [0.1, 0.5, 0.9]

    /// Name, help and field of each exported kernel counter.
    static var kernelCounters: [(String, String, KeyPath<KernelTCPCounters, Int64?>)] {
        [
            (
                "pathwatch_netstat_tcp_retrans_segs_total", "Tcp RetransSegs.",
                \.retransmittedSegments
            ),
            (
                "pathwatch_netstat_tcp_lost_retransmit_total",
                "TcpExt TCPLostRetransmit.", \.lostRetransmits
            ),
            (
                "pathwatch_netstat_tcp_sack_recovery_fail_total",
                "TcpExt TCPSackRecoveryFail.", \.sackRecoveryFailures
            ),
            ("pathwatch_netstat_tcp_syn_retrans_total", "TcpExt TCPSynRetrans.", \.synRetransmits),
            ("pathwatch_netstat_ip_in_no_routes_total", "IpExt InNoRoutes.", \.inNoRoutes),
            (
                "pathwatch_netstat_ip_out_no_routes_total", "Ip OutNoRoutes.",
                \.outNoRoutes
            ),
            (
                "pathwatch_netstat_tcp_dsack_old_sent_total",
                "TcpExt TCPDSACKOldSent.",
                \.dsackOldSent
            ),
            (
                "pathwatch_netstat_tcp_dsack_ofo_sent_total",
                "TcpExt TCPDSACKOfoSent.",
                \.dsackOutOfOrderSent
            ),
            (
                "pathwatch_netstat_tcp_ofo_queue_total",
                "TcpExt TCPOFOQueue.", \.outOfOrderQueued
            ),
        ]
    }

    init() {}

    /// The engine's state after a round; the next scrape shows it.
    public func publish(_ snapshot: PathHealthEngine.Snapshot) {
        state.withLock { $0.snapshot = snapshot }
    }

    public func recordSample(success: Bool, seconds: Double) {
        state.withLock { s in
            s.samples[success, default: 0] += 1
            s.sampleSeconds += seconds
            s.lastDuration = seconds
        }
    }

    public func collect(into out: inout PrometheusPage) {
        let s = state.withLock { $0 }
        writePaths(s.snapshot, into: &out)
        writeSampling(s, into: &out)
        for (name, help, field) in Self.kernelCounters {
            guard let value = s.snapshot.kernel[keyPath: field], value >= 0 else { continue }
            out.family(name, .counter, help: help, .count(UInt64(value)))
        }
        out.family(
            "pathwatch_nic_allowance_exceeded_total", .counter,
            help:
                "Packets shaped or dropped over an instance allowance (ethtool).",
            s.snapshot.nic.flatMap { reading in
                reading.counters.sorted { $0.key.rawValue < $1.key.rawValue }.map { allowance, value in
                    ([("interface", reading.interface), ("allowance", allowance.rawValue)], PrometheusPage.Value.count(value))
                }
            })
    }

    private func writeSampling(_ s: State, into out: inout PrometheusPage) {
        out.family(
            "pathwatch_socket_sample_duration_seconds", .gauge, help: "Wall time of the last TCP socket sample.",
            .gauge(s.lastDuration))
        out.family(
            "pathwatch_socket_sample_seconds_total", .counter, help: "Wall time spent sampling TCP sockets.",
            .seconds(s.sampleSeconds))
        out.family(
            "pathwatch_socket_samples_total", .counter, help: "TCP socket samples by result.",
            [([("result", "success")], .count(s.samples[true] ?? 0)), ([("result", "failure")], .count(s.samples[false] ?? 0))])
        out.family(
            "pathwatch_socket_sample_sockets", .gauge, help: "TCP sockets in the last sample.",
            .gauge(Double(s.snapshot.sockets)))
        out.family(
            "pathwatch_socket_sample_untracked_sockets", .gauge,
            help: "Sockets beyond paths.maxTrackedSockets, last sample.",
            .gauge(Double(s.snapshot.untrackedSockets)))
    }
}
