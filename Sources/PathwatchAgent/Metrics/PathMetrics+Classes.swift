import PathwatchCore

extension PathMetrics {
    /// The per-class families: verdict, ratios, peers, sockets, windows and RTTs.
    func writePaths(_ snapshot: PathHealthEngine.Snapshot, into out: inout PrometheusPage) {
        let paths = PathClass.allCases
        func window(_ path: PathClass) -> PathDegradationDetector.ClassWindow {
            snapshot.assessment?[path] ?? PathDegradationDetector.ClassWindow()
        }
        func perPath(_ value: (PathClass) -> PrometheusPage.Value) -> [(labels: [(String, String)], value: PrometheusPage.Value)] {
            paths.map { ([("path", $0.rawValue)], value($0)) }
        }
        func quantiles(_ value: (PathClass, Double) -> Double) -> [(labels: [(String, String)], value: PrometheusPage.Value)] {
            paths.flatMap { path in
                Self.quantiles.map { q in ([("path", path.rawValue), ("percentile", "p\(Int(q * 100))")], .gauge(value(path, q))) }
            }
        }
        out.family(
            "pathwatch_path_degraded", .gauge,
            help:
                "1 while the path class is degraded.",
            perPath { .gauge(window($0).raised ? 1 : 0) })
        out.family(
            "pathwatch_tcp_retransmit_ratio", .gauge,
            help: "Bytes retransmitted / sent to the path class, detector window.",
            perPath { .gauge(window($0).retransmitRatio) })
        out.family(
            "pathwatch_path_out_of_order_ratio", .gauge,
            help:
                "Out-of-order / data segments received from the path class, detector window.",
            perPath { .gauge(window($0).outOfOrderRatio) })
        out.family(
            "pathwatch_path_peers", .gauge,
            help:
                "Active and lossy peers of the path class, detector window.",
            paths.flatMap { path in
                [
                    ([("path", path.rawValue), ("state", "active")], PrometheusPage.Value.gauge(Double(window(path).peers.active))),
                    ([("path", path.rawValue), ("state", "lossy")], .gauge(Double(window(path).peers.lossy))),
                ]
            })
        out.family(
            "pathwatch_path_lossy_peer_share", .gauge,
            help:
                "Byte-weighted share of lossy peers in the path class.",
            perPath { .gauge(window($0).peers.lossyShare) })
        out.family(
            "pathwatch_path_confidence", .gauge,
            help: "1 when the path class has paths.minPeers active peers.",
            perPath { .gauge(window($0).confidence == .high ? 1 : 0) })
        out.family(
            "pathwatch_path_peer_retransmit_ratio", .gauge,
            help: "Per-peer retransmit ratio by percentile, detector window.",
            paths.flatMap { path in
                [("p50", window(path).peers.retransmitRatioP50), ("p90", window(path).peers.retransmitRatioP90)].map { label, value in
                    ([("path", path.rawValue), ("percentile", label)], PrometheusPage.Value.gauge(value ?? 0))
                }
            })
        out.family(
            "pathwatch_path_sockets", .gauge, help: "TCP sockets to the path class, last sample.",
            perPath { .gauge(Double(window($0).latest.sockets)) })
        out.family(
            "pathwatch_path_collapsed_cwnd_sockets", .gauge,
            help: "Sockets with a collapsed congestion window, last sample.",
            perPath { .gauge(Double(window($0).latest.collapsedSockets)) })
        out.family(
            "pathwatch_path_bytes_sent_total", .counter,
            help: "TCP payload bytes sent to the path class.",
            perPath { .count(snapshot.totals[$0]?.bytesSent ?? 0) })
        out.family(
            "pathwatch_path_bytes_retransmitted_total", .counter,
            help: "TCP payload bytes retransmitted to the path class.",
            perPath { .count(snapshot.totals[$0]?.bytesRetransmitted ?? 0) })
        out.family(
            "pathwatch_path_bytes_received_total", .counter,
            help: "TCP payload bytes received from the path class.",
            perPath { .count(snapshot.totals[$0]?.bytesReceived ?? 0) })
        out.family(
            "pathwatch_path_cwnd_segments", .gauge,
            help: "Congestion window by percentile, last sample.",
            quantiles { Double(window($0).latest.congestionWindows.quantile($1) ?? 0) })
        out.family(
            "pathwatch_path_rtt_seconds", .gauge,
            help: "Smoothed RTT by percentile, last sample.",
            quantiles { Double(window($0).latest.roundTripTimes.quantile($1) ?? 0) / 1_000_000 })
    }
}
