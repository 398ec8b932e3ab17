import PathwatchCore
import Synchronization

/// The subnet-route slice's metrics, written at scrape time from the repairer's last pass and
/// from discovery's status: `pathwatch_missing_subnet_route`, `pathwatch_route_repairs_total`,
/// `pathwatch_route_repairs_removed_total`, `pathwatch_discovery_status`,
/// `pathwatch_discovery_failures_total`. Names, labels and help text are the operator contract
/// (docs/metrics.md).
public final class SubnetRouteCollector: MetricsCollector {
    private let statistics = Mutex(SubnetRouteStatistics())
    private let discovered: DiscoveredSubnetRoutes

    public init(discovered: DiscoveredSubnetRoutes) { self.discovered = discovered }

    /// The repairer hands over the engine's statistics after every pass.
    func publish(_ fresh: SubnetRouteStatistics) { statistics.withLock { $0 = fresh } }

    public func collect(into buffer: inout [UInt8]) {
        let stats = statistics.withLock { $0 }
        let discovery = discovered.status
        var w = ExpositionWriter()
        w.family(
            "pathwatch_route_repairs_total", type: "counter",
            help: "Corrective route changes by result: success, failed, verify_failed, dry_run, conflict, flapping, cleaned_up.")
        for result in RouteRepairResult.allCases {
            w.sample("pathwatch_route_repairs_total", [("result", result.rawValue)], counter: stats.repairs[result] ?? 0)
        }
        w.family(
            "pathwatch_route_repairs_removed_total", type: "counter",
            help:
                "Routes pathwatch installed that were later found removed by someone else (systemd-networkd, a cloud refresh timer, an operator)."
        )
        w.sample("pathwatch_route_repairs_removed_total", [], counter: stats.removedByOthers)
        if !stats.missing.isEmpty {
            w.family(
                "pathwatch_missing_subnet_route", type: "gauge",
                help: "1 while traffic from the interface to the destination does not leave via the interface's subnet gateway.")
            for (labels, missing) in stats.missing.sorted(by: {
                ($0.key.interface, $0.key.destination) < ($1.key.interface, $1.key.destination)
            }) {
                w.sample(
                    "pathwatch_missing_subnet_route",
                    [("interface", labels.interface), ("destination", labels.destination), ("gateway", labels.gateway)],
                    gauge: missing ? 1 : 0)
            }
        }
        w.family(
            "pathwatch_discovery_failures_total", type: "counter",
            help: "Failed reads of what should be reachable, by source and reason: timeout, http_status, garbage, unreachable.")
        for reason in MetadataError.Reason.allCases {
            w.sample(
                "pathwatch_discovery_failures_total", [("source", "metadata"), ("reason", reason.rawValue)],
                counter: discovery.failures[reason] ?? 0)
        }
        if let ok = discovery.lastReadOK {
            w.family(
                "pathwatch_discovery_status", type: "gauge",
                help: "1 when the last read of the discovery source worked, 0 while it fails; absent when discovery is off.")
            w.sample("pathwatch_discovery_status", [("source", "metadata")], gauge: ok ? 1 : 0)
        }
        buffer += Array(w.text.utf8)
    }
}
