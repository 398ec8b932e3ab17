import PathwatchCore
import Synchronization

/// The subnet-route slice's metrics, written at scrape time from the repairer's last pass and
/// from discovery's status: `pathwatch_missing_subnet_route`, `pathwatch_route_repairs_total`,
/// `pathwatch_route_repairs_removed_total`, `pathwatch_discovery_status`,
/// `pathwatch_discovery_failures_total`. Names, labels and help text are the operator contract
/// (docs/metrics.md).
public final class SubnetRouteCollector: ScrapeCollector {
    private let statistics = Mutex(SubnetRouteStatistics())
    private let discovered: DiscoveredSubnetRoutes

    public init(discovered: DiscoveredSubnetRoutes) { self.discovered = discovered }

    /// The repairer hands over the engine's statistics after every pass.
    func publish(_ fresh: SubnetRouteStatistics) { statistics.withLock { $0 = fresh } }

    public func collect(into page: inout PrometheusPage) {
        let stats = statistics.withLock { $0 }
        let discovery = discovered.status
        page.counter(
            "pathwatch_route_repairs_total",
            help: "Corrective route changes by result.",
            samples: RouteRepairResult.allCases.map { ([("result", $0.rawValue)], UInt64(stats.repairs[$0] ?? 0)) })
        page.counter(
            "pathwatch_route_repairs_removed_total",
            help:
                "Routes pathwatch installed that someone else removed.",
            value: UInt64(stats.removedByOthers))
        page.gauge(
            "pathwatch_missing_subnet_route",
            help: "1 while the destination is not routed via the interface's subnet gateway.",
            samples: stats.missing.sorted { ($0.key.interface, $0.key.destination) < ($1.key.interface, $1.key.destination) }.map {
                ([("interface", $0.key.interface), ("destination", $0.key.destination), ("gateway", $0.key.gateway)], $0.value ? 1 : 0)
            })
        page.counter(
            "pathwatch_discovery_failures_total",
            help: "Failed discovery reads by source and reason.",
            samples: MetadataError.Reason.allCases.map {
                ([("source", "metadata"), ("reason", $0.rawValue)], UInt64(discovery.failures[$0] ?? 0))
            })
        if let ok = discovery.lastReadOK {
            page.gauge(
                "pathwatch_discovery_status",
                help: "1 when the last discovery read worked, 0 while it fails.",
                samples: [([("source", "metadata")], ok ? 1 : 0)])
        }
    }
}
