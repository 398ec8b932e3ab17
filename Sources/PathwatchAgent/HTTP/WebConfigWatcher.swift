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

/// The series a web configuration adds besides its rejection reasons (``HTTPCollector``):
/// registered only when `--web-config` is given, so an agent without one serves exactly the
/// series it did before.
public final class WebSecurityMetrics: Sendable {
    private let reloads: [Bool: Counter]

    public init(registry: PrometheusCollectorRegistry) {
        let reloadHelp = "Web configuration reloads (SIGHUP, changed file) by result."
        self.reloads = [
            true: registry.counter(name: "pathwatch_http_web_config_reloads_total", labels: [("result", "success")], help: reloadHelp),
            false: registry.counter(name: "pathwatch_http_web_config_reloads_total", labels: [("result", "failure")], help: reloadHelp),
        ]
    }

    public func countReload(success: Bool) { self.reloads[success]?.increment() }
}
