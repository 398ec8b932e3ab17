import Dispatch
import Glibc
import Logging
import PathwatchCore
import ServiceLifecycle
import Synchronization

/// Re-reads the configuration on SIGHUP. A file that does not parse is refused and the last
/// good configuration stays in force, so a half-edited file never changes the agent's behaviour.
public final class ConfigReloader: Service {
    private let loader: ConfigLoader
    private let current: Mutex<AgentConfig>
    private let logger: Logger
    private let onChange: @Sendable (AgentConfig, AgentConfig) -> Void
    private let onResult: @Sendable (Bool) -> Void

    public init(
        loader: ConfigLoader, initial: AgentConfig, logger: Logger,
        onResult: @escaping @Sendable (Bool) -> Void,
        onChange: @escaping @Sendable (_ old: AgentConfig, _ new: AgentConfig) -> Void
    ) {
        self.loader = loader
        self.current = Mutex(initial)
        self.logger = logger
        self.onResult = onResult
        self.onChange = onChange
    }

    public var config: AgentConfig { current.withLock { $0 } }

    public func run() async throws {
        signal(SIGHUP, SIG_IGN)  // Delivered to the dispatch source instead of terminating us.
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "pathwatch.sighup"))
        source.setEventHandler { [self] in reload() }
        source.resume()
        defer { source.cancel() }
        try? await gracefulShutdown()
    }

    /// Reloads now; what SIGHUP triggers.
    public func reload() {
        do {
            let fresh = try loader.load()
            let old = current.withLock { config in
                let old = config
                config = fresh
                return old
            }
            onResult(true)
            logger.info("configuration reloaded", metadata: ["file": "\(loader.path ?? "(none)")"])
            if fresh != old { onChange(old, fresh) }
        } catch {
            onResult(false)
            logger.error("configuration reload refused; keeping the last good configuration", metadata: ["error": "\(error)"])
        }
    }
}
