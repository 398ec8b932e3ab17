import Logging
import NIOPosix
import PathwatchCore
import ServiceLifecycle
import Synchronization

/// Builds the agent's parts from a configuration and runs them until SIGTERM or SIGINT.
public enum Agent {
    /// Exit statuses `pathwatch run` returns.
    public enum ExitStatus: Int32 {
        case clean = 0
        case failed = 1
        /// Bad configuration, bad flags or missing privileges: nothing on the node was touched.
        case refused = 2
    }

    public static func run(loader: ConfigLoader, version: String, commit: String) async -> ExitStatus {
        let config: AgentConfig
        do {
            config = try loader.load()
        } catch {
            printError("pathwatch: configuration refused: \(error)")
            return .refused
        }
        let logSettings = LogSettings(level: config.logLevel, format: config.logFormat)
        LoggingSystem.bootstrap { label in AgentLogHandler(label: label, settings: logSettings) }
        let logger = Logger(label: "pathwatch")
        let metrics = AgentMetrics(version: version, commit: commit)
        let webMetrics = config.http.webConfig.map { _ in WebSecurityMetrics(registry: metrics.registry) }
        let security: WebSecurity?
        do {
            security = try config.http.webConfig.map { path throws(WebConfigError) in
                try WebSecurity(path: path, logger: logger, onResult: { webMetrics?.countReload(success: $0) })
            }
        } catch {
            printError("pathwatch: configuration refused: \(error)")
            return .refused
        }

        if let message = Capabilities.missingPrivilegeMessage(conntrackEnabled: config.conntrack.enabled) {
            printError("pathwatch: \(message)")
            return .refused
        }

        let parts = DetectionParts(config: config, metrics: metrics, logger: logger)
        let (state, findings, autofix) = (parts.state, parts.findings, parts.autofix)
        let server = Mutex<HTTPServer?>(nil)
        let endpoint = AgentEndpoint(
            state: state, conntrack: parts.conntrack, metrics: metrics, findings: findings,
            httpStatistics: { server.withLock { $0?.statistics.snapshot() } }, webSecurity: security != nil,
            selfSourcedSynMode: { [slice = parts.selfSourcedSyn] in slice.mode }, logger: logger)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        metrics.findingCauses.setFrontendLimit(config.hairpin.maxFrontendLabels)
        let kubernetes: KubernetesReporting?
        do {
            kubernetes = try KubernetesReporting(
                config: config, findings: findings, modelReady: { state.isReady }, metrics: metrics, eventLoopGroup: group, logger: logger)
        } catch {
            printError("pathwatch: configuration refused: \(error)")
            try? await group.shutdownGracefully()
            return .refused
        }
        if let kubernetes, config.kubernetes.podNames {
            parts.hairpin?.namePods(with: kubernetes.podNames)
            parts.selfSourcedSyn.namePods(with: kubernetes.podNames)
        }
        let limits = HTTPLimits(
            maxRequestHeadBytes: config.http.maxRequestHeadBytes,
            idleTimeout: .milliseconds(Int64(config.http.idleTimeoutSeconds * 1000)),
            maxConnections: config.http.maxConnections,
            requestHeadTimeout: .milliseconds(Int64(config.http.requestHeadTimeoutSeconds * 1000)),
            writeTimeout: .milliseconds(Int64(config.http.writeTimeoutSeconds * 1000)),
            loopbackReserve: config.http.loopbackReserve,
            stateFromAnyPeer: config.http.stateFrom == .any)
        let http = HTTPServer(
            host: config.listen.host, port: config.listen.port, limits: limits, handler: endpoint, security: security,
            logger: logger, eventLoopGroup: group)
        server.withLock { $0 = http }

        let reloader = ConfigReloader(
            loader: loader, initial: config, logger: logger,
            onResult: {
                metrics.countConfigReload(success: $0)
                security?.reload(reason: "SIGHUP")
            },
            onChange: { old, new in
                logSettings.update(level: new.logLevel, format: new.logFormat)
                if old.autofix != new.autofix { autofix.set(new.autofix, by: "config file") }
                if old.listen != new.listen || old.http != new.http || old.netlink != new.netlink || old.conntrack != new.conntrack
                    || old.controlSocket != new.controlSocket || old.hairpin != new.hairpin || old.paths != new.paths
                    || old.kubernetes != new.kubernetes || old.releaseStartupPagesAfterSeconds != new.releaseStartupPagesAfterSeconds
                {
                    logger.warning(
                        "listen, http, netlink, conntrack, hairpin, paths, kubernetes, controlSocket and releaseStartupPagesAfterSeconds settings take effect at the next restart"
                    )
                }
                state.changes.notify()  // subnetRoutes, subnetGateways, repair and discovery settings apply now
                parts.configurationChanges.notify()
            })
        var services = parts.services(config: config, configuration: { reloader.config }, logger: logger)
        services.append(http)
        services.append(reloader)
        if let security { services.append(WebConfigWatcher(security: security)) }
        if let kubernetes { services.append(kubernetes) }
        if config.releaseStartupPagesAfterSeconds > 0 {
            services.append(
                StartupPagesRelease(afterSeconds: config.releaseStartupPagesAfterSeconds, isReady: { state.isReady }, logger: logger))
        }
        services.append(
            ControlServer(
                path: config.controlSocket, autofix: autofix,
                status: { "autofix=\(autofix.current.rawValue) ready=\(state.isReady) findings=\(findings.snapshot().count)" },
                logger: logger))

        logger.info(
            "pathwatch starting",
            metadata: [
                "version": "\(version)", "listen": "\(config.listen)", "autofix": "\(config.autofix.rawValue)",
                "config": "\(loader.path ?? "(defaults)")",
            ])
        let serviceGroup = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        let status: ExitStatus
        do {
            try await serviceGroup.run()
            logger.info("pathwatch stopped")
            status = .clean
        } catch {
            logger.critical("pathwatch stopped on an error", metadata: ["error": "\(error)"])
            printError("pathwatch: \(error)")
            status = .failed
        }
        try? await group.shutdownGracefully()
        return status
    }
}

public func printError(_ text: String) {
    var line = text
    if !line.hasSuffix("\n") { line += "\n" }
    StandardError.write(line)
}
