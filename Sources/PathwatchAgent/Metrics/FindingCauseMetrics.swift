import PathwatchCore
import Prometheus
import Synchronization

/// `pathwatch_finding_causes{kind,frontend,destination,path}`: the open findings by the cause
/// operators group a fleet by, so one frontend hairpinning 500 nodes is one alert with
/// `count by (frontend)`, not 500. Set at scrape time from the registry; a cause no longer open
/// loses its series. Bounded like the other labels: frontends by `hairpin.maxFrontendLabels`
/// (then `other`), destinations by the configured and discovered subnet routes (live-traffic
/// findings share one value), paths by the fixed path classes.
public final class FindingCauseMetrics: Sendable {
    private struct State {
        var frontends: BoundedLabels
        var gauges: [FindingCause: Gauge] = [:]
    }

    private let registry: PrometheusCollectorRegistry
    private let state: Mutex<State>

    init(registry: PrometheusCollectorRegistry, maxFrontendLabels: Int = AgentConfig.HairpinSettings().maxFrontendLabels) {
        self.registry = registry
        state = Mutex(State(frontends: BoundedLabels(limit: maxFrontendLabels)))
    }

    /// Takes `hairpin.maxFrontendLabels` from the configuration (before the first scrape).
    public func setFrontendLimit(_ limit: Int) {
        state.withLock { $0.frontends = BoundedLabels(limit: limit) }
    }

    func set(_ open: [Finding]) {
        state.withLock { state in
            var counts: [FindingCause: Int] = [:]
            for finding in open {
                counts[FindingCause.of(kind: finding.kind, key: finding.key, frontends: &state.frontends), default: 0] += 1
            }
            for (cause, count) in counts {
                let gauge =
                    state.gauges[cause]
                    ?? registry.gauge(
                        name: "pathwatch_finding_causes",
                        labels: [
                            ("kind", cause.kind.rawValue), ("frontend", cause.frontend), ("destination", cause.destination),
                            ("path", cause.path),
                        ],
                        help: "Open findings by kind and cause.")
                state.gauges[cause] = gauge
                gauge.set(Int64(count))
            }
            for (cause, gauge) in state.gauges where counts[cause] == nil {
                registry.unregisterGauge(gauge)
                state.gauges.removeValue(forKey: cause)
            }
        }
    }
}
