import Netlink
import PathwatchCore

/// What the model holds, copied out under its lock when `/metrics` is served.
public struct ModelReading: Sendable {
    var summary: NodeState.Summary
    var links: [Link]
    var ready: Bool

    public init(_ state: borrowing NodeState, ready: Bool) {
        summary = state.summary
        links = Array(state.links.values)
        self.ready = ready
    }
}

/// The model's sizes, readiness and each interface's state and kernel counters, read at scrape
/// time. Interface counters are the kernel's `IFLA_STATS64` values (one RTM_GETLINK refreshes
/// them just before), written as they are: a recreated interface restarts at its new value,
/// which `rate()` reads as a counter reset, and a removed interface has no series, so label
/// values never outnumber the node's interfaces.
struct ModelCollector: ScrapeCollector {
    let read: @Sendable () -> ModelReading

    static var linkCounters: [(String, String, KeyPath<LinkStatistics, UInt64>)] {
        [
            ("pathwatch_link_rx_bytes_total", "Bytes received.", \.rxBytes),
            ("pathwatch_link_tx_bytes_total", "Bytes sent.", \.txBytes),
            ("pathwatch_link_rx_packets_total", "Packets received.", \.rxPackets),
            ("pathwatch_link_tx_packets_total", "Packets sent.", \.txPackets),
            ("pathwatch_link_rx_errors_total", "Receive errors.", \.rxErrors),
            ("pathwatch_link_tx_errors_total", "Transmit errors.", \.txErrors),
            ("pathwatch_link_rx_dropped_total", "Received packets dropped.", \.rxDropped),
            ("pathwatch_link_tx_dropped_total", "Packets dropped before transmission.", \.txDropped),
        ]
    }

    func collect(into page: inout PrometheusPage) {
        let model = read()
        let s = model.summary
        func byFamily(_ v4: Int, _ v6: Int) -> [(labels: PrometheusPage.Labels, value: Double)] {
            [([("family", "ipv4")], Double(v4)), ([("family", "ipv6")], Double(v6))]
        }
        page.gauge("pathwatch_routes", help: "Routes in the model, all tables.", samples: byFamily(s.ipv4Routes, s.ipv6Routes))
        page.gauge(
            "pathwatch_addresses", help: "Interface addresses in the model.", samples: byFamily(s.ipv4Addresses, s.ipv6Addresses))
        page.gauge("pathwatch_rules", help: "Policy routing rules in the model.", samples: byFamily(s.ipv4Rules, s.ipv6Rules))
        page.gauge("pathwatch_links", help: "Network interfaces in the model.", value: Double(s.links))
        page.gauge(
            "pathwatch_local_endpoints",
            help: "Node-local endpoints: own addresses and workload addresses.",
            value: Double(s.localEndpoints))
        page.gauge(
            "pathwatch_ready", help: "1 once every watched part is dumped into the model.", value: model.ready ? 1 : 0)
        let links = model.links.sorted { $0.name < $1.name }
        for (name, help, field) in Self.linkCounters {
            page.counter(
                name, help: help, samples: links.map { ([("interface", $0.name)], $0.statistics?[keyPath: field] ?? 0) })
        }
        page.gauge(
            "pathwatch_link_up", help: "1 when the interface is operationally up.",
            samples: links.map { ([("interface", $0.name)], $0.operState == .up ? 1 : 0) })
        page.gauge(
            "pathwatch_link_mtu_bytes", help: "The interface's MTU.",
            samples: links.map { ([("interface", $0.name)], Double($0.mtu ?? 0)) })
    }
}
