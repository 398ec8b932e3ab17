import PathwatchCore

extension PathMetrics {
    /// The per-class families: verdict, ratios, peers, sockets, windows and RTTs.
    func writePaths(_ snapshot: PathHealthEngine.Snapshot, into out: inout ExpositionText) {
        let paths = PathClass.allCases
        func window(_ path: PathClass) -> PathDegradationDetector.ClassWindow {
            snapshot.assessment?[path] ?? PathDegradationDetector.ClassWindow()
        }
        func perPath(_ value: (PathClass) -> ExpositionText.Value) -> [(labels: [(String, String)], value: ExpositionText.Value)] {
            paths.map { ([("path", $0.rawValue)], value($0)) }
        }
        func quantiles(_ value: (PathClass, Double) -> Double) -> [(labels: [(String, String)], value: ExpositionText.Value)] {
            paths.flatMap { path in
                Self.quantiles.map { q in ([("path", path.rawValue), ("percentile", "p\(Int(q * 100))")], .gauge(value(path, q))) }
            }
        }
        out.family(
            "pathwatch_path_degraded", .gauge,
            help:
                "1 while the path class (public, private) is degraded: loss (retransmissions, collapsed windows, out-of-order arrivals) spread over its peers, sustained; both 1 means the node itself.",
            perPath { .gauge(window($0).raised ? 1 : 0) })
        out.family(
            "pathwatch_tcp_retransmit_ratio", .gauge,
            help: "Bytes retransmitted / bytes sent by the node's TCP sockets to peers of the path class, over the detector window.",
            perPath { .gauge(window($0).retransmitRatio) })
        out.family(
            "pathwatch_path_out_of_order_ratio", .gauge,
            help:
                "Data packets received out of order / data segments received by the node's TCP sockets from peers of the path class, over the detector window: loss on the way in.",
            perPath { .gauge(window($0).outOfOrderRatio) })
        out.family(
            "pathwatch_path_peers", .gauge,
            help:
                "Peers (address groups) of the path class that moved at least paths.minPeerBytes in the detector window (state active), and those of them that are lossy (state lossy).",
            paths.flatMap { path in
                [
                    ([("path", path.rawValue), ("state", "active")], ExpositionText.Value.gauge(Double(window(path).peers.active))),
                    ([("path", path.rawValue), ("state", "lossy")], .gauge(Double(window(path).peers.lossy))),
                ]
            })
        out.family(
            "pathwatch_path_lossy_peer_share", .gauge,
            help:
                "Lossy peers' share of the path class's active peers, each weighted by its bytes capped at paths.peerWeightCapBytes; the class is lossy from paths.lossyPeerShare (and two lossy peers) on.",
            perPath { .gauge(window($0).peers.lossyShare) })
        out.family(
            "pathwatch_path_confidence", .gauge,
            help: "1 when the path class has at least paths.minPeers active peers, so its verdict rests on breadth; 0 when it has fewer.",
            perPath { .gauge(window($0).confidence == .high ? 1 : 0) })
        out.family(
            "pathwatch_path_peer_retransmit_ratio", .gauge,
            help: "Per-peer retransmit ratios of the path class's peers over the detector window, median (p50) and p90; 0 without peers.",
            paths.flatMap { path in
                [("p50", window(path).peers.retransmitRatioP50), ("p90", window(path).peers.retransmitRatioP90)].map { label, value in
                    ([("path", path.rawValue), ("percentile", label)], ExpositionText.Value.gauge(value ?? 0))
                }
            })
        out.family(
            "pathwatch_path_sockets", .gauge, help: "Established TCP sockets to peers of the path class, last sample.",
            perPath { .gauge(Double(window($0).latest.sockets)) })
        out.family(
            "pathwatch_path_collapsed_cwnd_sockets", .gauge,
            help: "Sockets that sent data with a congestion window at or below paths.collapsedCwnd, last sample.",
            perPath { .gauge(Double(window($0).latest.collapsedSockets)) })
        out.family(
            "pathwatch_path_bytes_sent_total", .counter,
            help: "Payload bytes the node's TCP sockets sent to peers of the path class, retransmissions included.",
            perPath { .count(snapshot.totals[$0]?.bytesSent ?? 0) })
        out.family(
            "pathwatch_path_bytes_retransmitted_total", .counter,
            help: "Payload bytes the node's TCP sockets retransmitted to peers of the path class.",
            perPath { .count(snapshot.totals[$0]?.bytesRetransmitted ?? 0) })
        out.family(
            "pathwatch_path_bytes_received_total", .counter,
            help: "Payload bytes the node's TCP sockets received from peers of the path class (kernels with tcpi_rcv_ooopack, 5.4+).",
            perPath { .count(snapshot.totals[$0]?.bytesReceived ?? 0) })
        out.family(
            "pathwatch_path_cwnd_segments", .gauge,
            help: "Congestion window of the sockets that sent data, by percentile (within 25 %), last sample.",
            quantiles { Double(window($0).latest.congestionWindows.quantile($1) ?? 0) })
        out.family(
            "pathwatch_path_rtt_seconds", .gauge,
            help: "Smoothed RTT of the sockets that sent data, by percentile (within 25 %), last sample.",
            quantiles { Double(window($0).latest.roundTripTimes.quantile($1) ?? 0) / 1_000_000 })
    }
}
