import Netlink
import PathwatchCore
import Prometheus
import Synchronization

/// The path-comparison metrics: per-class socket aggregates, the verdict, the kernel's TCP
/// counters, cloud NIC allowance counters, and what the sampling costs.
///
/// Registered on the agent's registry by ``AgentMetrics``; label values are the two path
/// classes, fixed quantiles, the node's interfaces and the five allowance names.
public final class PathMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let degraded: [PathClass: Gauge]
    private let retransmitRatio: [PathClass: Gauge]
    private let sockets: [PathClass: Gauge]
    private let collapsed: [PathClass: Gauge]
    private let bytesSent: [PathClass: Counter]
    private let bytesRetransmitted: [PathClass: Counter]
    private let cwnd: [PathClass: [Double: Gauge]]
    private let rtt: [PathClass: [Double: Gauge]]
    private let sampleDuration: Gauge
    private let sampleSeconds: Counter
    private let samples: [Bool: Counter]
    private let sampledSockets: Gauge
    private let untrackedSockets: Gauge
    private let kernel: Mutex<[String: KernelCounter]>
    private let nic = Mutex<[String: [NICAllowance: (Counter, KernelCounter)]]>([:])

    static let quantiles: [Double] = [0.1, 0.5, 0.9]

    /// Name, help and field of each exported kernel counter.
    static var kernelCounters: [(String, String, KeyPath<KernelTCPCounters, Int64?>)] {
        [
            (
                "pathwatch_netstat_tcp_retrans_segs_total", "Segments the kernel retransmitted (/proc/net/snmp Tcp RetransSegs).",
                \.retransmittedSegments
            ),
            (
                "pathwatch_netstat_tcp_lost_retransmit_total",
                "Retransmissions that were lost again (/proc/net/netstat TcpExt TCPLostRetransmit).",
                \.lostRetransmits
            ),
            (
                "pathwatch_netstat_tcp_sack_recovery_fail_total",
                "SACK recoveries that failed into a timeout (TcpExt TCPSackRecoveryFail).",
                \.sackRecoveryFailures
            ),
            ("pathwatch_netstat_tcp_syn_retrans_total", "SYN and SYN-ACK retransmissions (TcpExt TCPSynRetrans).", \.synRetransmits),
            ("pathwatch_netstat_ip_in_no_routes_total", "Received packets with no route (IpExt InNoRoutes).", \.inNoRoutes),
            (
                "pathwatch_netstat_ip_out_no_routes_total", "Packets the node could not send for lack of a route (Ip OutNoRoutes).",
                \.outNoRoutes
            ),
        ]
    }

    init(registry r: PrometheusCollectorRegistry) {
        registry = r
        let paths = PathClass.allCases
        degraded = r.gauges(
            name: "pathwatch_path_degraded", label: "path", values: paths,
            help:
                "1 while the path class (public, private) is degraded: sustained retransmissions or collapsed congestion windows; both 1 means the node itself."
        ) { $0.rawValue }
        retransmitRatio = r.gauges(
            name: "pathwatch_tcp_retransmit_ratio", label: "path", values: paths,
            help: "Bytes retransmitted / bytes sent by the node's TCP sockets to peers of the path class, over the detector window."
        ) {
            $0.rawValue
        }
        sockets = r.gauges(
            name: "pathwatch_path_sockets", label: "path", values: paths,
            help: "Established TCP sockets to peers of the path class, last sample."
        ) {
            $0.rawValue
        }
        collapsed = r.gauges(
            name: "pathwatch_path_collapsed_cwnd_sockets", label: "path", values: paths,
            help: "Sockets that sent data with a congestion window at or below paths.collapsedCwnd, last sample."
        ) { $0.rawValue }
        bytesSent = r.counters(
            name: "pathwatch_path_bytes_sent_total", label: "path", values: paths,
            help: "Payload bytes the node's TCP sockets sent to peers of the path class, retransmissions included."
        ) { $0.rawValue }
        bytesRetransmitted = r.counters(
            name: "pathwatch_path_bytes_retransmitted_total", label: "path", values: paths,
            help: "Payload bytes the node's TCP sockets retransmitted to peers of the path class."
        ) { $0.rawValue }
        func quantileGauges(_ name: String, _ help: String) -> [PathClass: [Double: Gauge]] {
            Dictionary(
                uniqueKeysWithValues: paths.map { path in
                    (
                        path,
                        Dictionary(
                            uniqueKeysWithValues: Self.quantiles.map { q in
                                (q, r.gauge(name: name, labels: [("path", path.rawValue), ("percentile", "p\(Int(q * 100))")], help: help))
                            })
                    )
                })
        }
        cwnd = quantileGauges(
            "pathwatch_path_cwnd_segments", "Congestion window of the sockets that sent data, by percentile (within 25 %), last sample.")
        rtt = quantileGauges(
            "pathwatch_path_rtt_seconds", "Smoothed RTT of the sockets that sent data, by percentile (within 25 %), last sample.")
        sampleDuration = r.gauge(
            name: "pathwatch_socket_sample_duration_seconds", help: "Wall time of the last TCP socket sample (dump and aggregation).")
        sampleSeconds = r.counter(
            name: "pathwatch_socket_sample_seconds_total", help: "Wall time spent sampling TCP sockets since start-up.")
        let samplesHelp = "TCP socket samples (sock_diag dumps), by result."
        samples = [
            true: r.counter(name: "pathwatch_socket_samples_total", labels: [("result", "success")], help: samplesHelp),
            false: r.counter(name: "pathwatch_socket_samples_total", labels: [("result", "failure")], help: samplesHelp),
        ]
        sampledSockets = r.gauge(name: "pathwatch_socket_sample_sockets", help: "Established TCP sockets in the last sample, all peers.")
        untrackedSockets = r.gauge(
            name: "pathwatch_socket_sample_untracked_sockets",
            help: "Sockets in the last sample beyond paths.maxTrackedSockets, left out of the deltas.")
        kernel = Mutex(
            Dictionary(uniqueKeysWithValues: Self.kernelCounters.map { ($0.0, KernelCounter(r.counter(name: $0.0, help: $0.1))) }))
    }

    /// Publishes a detector assessment.
    public func update(_ assessment: PathDegradationDetector.Assessment) {
        for path in PathClass.allCases {
            let w = assessment[path]
            degraded[path]?.set(to: w.raised ? 1 : 0)
            retransmitRatio[path]?.set(to: w.retransmitRatio)
            sockets[path]?.set(Int64(w.latest.sockets))
            collapsed[path]?.set(Int64(w.latest.collapsedSockets))
            bytesSent[path]?.increment(by: Int64(clamping: w.latest.bytesSent))
            bytesRetransmitted[path]?.increment(by: Int64(clamping: w.latest.bytesRetransmitted))
            for q in Self.quantiles {
                cwnd[path]?[q]?.set(to: Double(w.latest.congestionWindows.quantile(q) ?? 0))
                rtt[path]?[q]?.set(to: Double(w.latest.roundTripTimes.quantile(q) ?? 0) / 1_000_000)
            }
        }
    }

    public func recordSample(success: Bool, seconds: Double, sockets count: Int, untracked: Int) {
        samples[success]?.increment()
        sampleDuration.set(to: seconds)
        sampleSeconds.increment(by: seconds)
        if success {
            sampledSockets.set(Int64(count))
            untrackedSockets.set(Int64(untracked))
        }
    }

    /// Not thread-safe with itself: one sampler calls it.
    public func setKernelCounters(_ counters: KernelTCPCounters) {
        kernel.withLock { series in
            for (name, _, path) in Self.kernelCounters {
                if let value = counters[keyPath: path], value >= 0 { series[name]?.set(UInt64(value)) }
            }
        }
    }

    /// Interfaces whose driver exports allowance counters; series of interfaces not listed
    /// any more are removed.
    public func setNICAllowances(_ readings: [NICAllowanceReading]) {
        nic.withLock { series in
            var seen: Set<String> = []
            for reading in readings {
                seen.insert(reading.interface)
                var perInterface = series[reading.interface] ?? [:]
                for (allowance, value) in reading.counters {
                    if perInterface[allowance] == nil {
                        let counter = registry.counter(
                            name: "pathwatch_nic_allowance_exceeded_total",
                            labels: [("interface", reading.interface), ("allowance", allowance.rawValue)],
                            help:
                                "Packets the cloud shaped or dropped because an instance allowance was exceeded (ethtool *_allowance_exceeded, e.g. AWS ENA)."
                        )
                        perInterface[allowance] = (counter, KernelCounter(counter))
                    }
                    perInterface[allowance]!.1.set(value)
                }
                series[reading.interface] = perInterface
            }
            for (interface, counters) in series where !seen.contains(interface) {
                for (counter, _) in counters.values { registry.unregisterCounter(counter) }
                series.removeValue(forKey: interface)
            }
        }
    }
}
