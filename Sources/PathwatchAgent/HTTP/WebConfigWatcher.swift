import Prometheus
import ServiceLifecycle
import Synchronization

/// Reloads the web configuration when it or a file it names changes on disk (cert-manager renews
/// a certificate by swapping the Secret volume's `..data` symlink).
///
/// A `stat(2)` of at most four paths every `interval` (5 s), not inotify: a symlink swap in a
/// Secret volume, a file replaced by `mv` and an edit in place all change what `stat` reports
/// through the link, while inotify would need watches on every directory of every link target
/// and re-arming after each swap. Four stats every 5 s cost well under a microsecond of CPU a
/// second, invisible in the agent's measured idle CPU; a new certificate is served within 5 s.
public final class WebConfigWatcher: Service {
    private let security: WebSecurity
    private let interval: Duration

    public init(security: WebSecurity, interval: Duration = .seconds(5)) {
        self.security = security
        self.interval = interval
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: self.interval)
            if self.security.filesChanged() { self.security.reload(reason: "file changed") }
        }
    }
}

/// The series a web configuration adds; registered only when `--web-config` is given, so an agent
/// without one serves exactly the series it did before. On the registry, not a `ScrapeCollector`:
/// the rejection reasons belong to `AgentMetrics`' `pathwatch_http_rejections_total` family, and
/// one family must be written by one writer.
public final class WebSecurityMetrics: Sendable {
    private let tls: Mutex<KernelCounter>
    private let unauthorized: Mutex<KernelCounter>
    private let authBusy: Mutex<KernelCounter>
    private let reloads: [Bool: Counter]

    public init(registry: PrometheusCollectorRegistry) {
        let help = "HTTP requests or connections the endpoint refused, by reason."
        func rejection(_ reason: String) -> Mutex<KernelCounter> {
            Mutex(KernelCounter(registry.counter(name: "pathwatch_http_rejections_total", labels: [("reason", reason)], help: help)))
        }
        self.tls = rejection("tls")
        self.unauthorized = rejection("unauthorized")
        self.authBusy = rejection("auth_busy")
        let reloadHelp = "Reloads of the web configuration (SIGHUP or a changed file) by result; a failure keeps the last good one."
        self.reloads = [
            true: registry.counter(name: "pathwatch_http_web_config_reloads_total", labels: [("result", "success")], help: reloadHelp),
            false: registry.counter(name: "pathwatch_http_web_config_reloads_total", labels: [("result", "failure")], help: reloadHelp),
        ]
    }

    public func countReload(success: Bool) { self.reloads[success]?.increment() }

    public func set(_ snapshot: HTTPServerStatistics.Snapshot) {
        self.tls.withLock { $0.set(UInt64(snapshot.tlsFailures)) }
        self.unauthorized.withLock { $0.set(UInt64(snapshot.unauthorized)) }
        self.authBusy.withLock { $0.set(UInt64(snapshot.authBusy)) }
    }
}
