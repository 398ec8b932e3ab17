import Logging
import PathwatchCore
import ServiceLifecycle

/// Learns what each secondary interface must reach from the EC2 instance metadata service
/// (`discovery.metadata: true`) and publishes it through ``DiscoveredSubnetRoutes``.
///
/// Off, it sleeps until a configuration reload. On, it reads the metadata every
/// `discovery.refreshSeconds` (after a failure sooner, backing off from 1 s), and maps the last
/// good answer onto the live model once a second, so an interface
/// attached or renamed later is covered without asking the service again. A failed read keeps
/// the last good answer (routes are not withdrawn because the service hiccuped). State changes,
/// not every attempt, are logged. A task cancelled at graceful shutdown; the HTTP client
/// (AsyncHTTPClient on an event-loop thread of its own) exists only while discovery is on.
final class MetadataDiscovery: Service {
    private let state: LiveNodeState
    private let discovered: DiscoveredSubnetRoutes
    private let configuration: @Sendable () -> AgentConfig
    private let changes: ConfigurationChanges
    private let logger: Logger

    init(
        state: LiveNodeState, discovered: DiscoveredSubnetRoutes, configuration: @escaping @Sendable () -> AgentConfig,
        changes: ConfigurationChanges, logger: Logger
    ) {
        self.changes = changes
        self.state = state
        self.discovered = discovered
        self.configuration = configuration
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        var memory = Memory()
        var reloads = changes.makeIterator()
        while !Task.isCancelled {
            let settings = configuration().discovery
            guard settings.metadata else {
                if memory.settings != nil {
                    logger.notice("instance metadata discovery turned off; discovered subnet routes withdrawn")
                    await memory.http?.shutdown()
                    memory = Memory()
                    discovered.turnedOff()
                }
                // Off: nothing to do until a reload turns it on (nil: cancelled at shutdown).
                guard await reloads.next() != nil else { break }
                continue
            }
            if memory.settings != settings {
                if memory.settings == nil {
                    logger.info("instance metadata discovery on", metadata: ["endpoint": "\(settings.endpoint)"])
                }
                memory.settings = settings
                memory.nextAttempt = nil
                memory.backoff = 1
            }
            if memory.nextAttempt.map({ ContinuousClock.now >= $0 }) ?? true { await attempt(settings, &memory) }
            guard !Task.isCancelled else { break }
            if let answers = memory.answers { publish(answers, &memory) }
            try? await Task.sleep(for: .seconds(1))
        }
        await memory.http?.shutdown()
    }

    private struct Memory {
        var http: MetadataHTTPClient?
        var settings: AgentConfig.DiscoverySettings?
        var answers: [MetadataInterface]?
        /// On the monotonic clock: a wall-clock step must not stall or rush the retries.
        var nextAttempt: ContinuousClock.Instant?
        var backoff = 1.0
        /// "ok" or the failure reason of the last attempt, to log changes only.
        var outcome: String?
        var published: MetadataExpectations.Result?
    }

    private func attempt(_ settings: AgentConfig.DiscoverySettings, _ memory: inout Memory) async {
        let http = memory.http ?? MetadataHTTPClient()
        memory.http = http
        do {
            let answers = try await MetadataClient(http: http, settings: settings).interfaces()
            if memory.outcome != "ok" {
                logger.notice(
                    "instance metadata read", metadata: ["endpoint": "\(settings.endpoint)", "interfaces": "\(answers.count)"])
            }
            memory.outcome = "ok"
            memory.answers = answers
            // Published before it counts as answered, so clean-up never runs on a half state.
            publish(answers, &memory)
            discovered.recordRead(at: .now)
            memory.backoff = 1
            memory.nextAttempt = .now + .seconds(settings.refreshSeconds)
        } catch {
            guard !Task.isCancelled else { return }  // interrupted by shutdown, not a failure
            discovered.recordFailure(error.reason, at: .now)
            if memory.outcome != error.reason.rawValue {
                let what =
                    switch error.reason {
                    case .unreachable: "instance metadata service unreachable"
                    case .timeout: "instance metadata service did not answer in time"
                    case .httpStatus: "instance metadata service refused a request"
                    case .garbage: "instance metadata answer not understood"
                    }
                let kept = memory.answers.map { "the last good answer (\($0.count) interfaces)" } ?? "nothing discovered"
                logger.warning(
                    "\(what); keeping \(kept), retrying",
                    metadata: ["endpoint": "\(settings.endpoint)", "reason": "\(error.reason.rawValue)", "error": "\(error.message)"])
            }
            memory.outcome = error.reason.rawValue
            memory.nextAttempt = .now + .seconds(min(memory.backoff, settings.refreshSeconds))
            memory.backoff = min(memory.backoff * 2, settings.refreshSeconds)
        }
    }

    private func publish(_ answers: [MetadataInterface], _ memory: inout Memory) {
        let result = state.read { MetadataExpectations.compute(answers, state: $0) }
        guard result != memory.published else { return }
        memory.published = result
        var snapshot = DiscoveredSubnetRoutes.Snapshot()
        snapshot.subnetRoutes = result.subnetRoutes
        snapshot.gateways = result.gateways
        discovered.replace(with: snapshot)
        let routes = result.subnetRoutes.sorted { $0.key < $1.key }.map { name, destinations in
            "\(name) -> \(destinations.map(\.description).joined(separator: ",")) via \(result.gateways[name].map { "\($0)" } ?? "?")"
        }
        if result.primary == nil, !answers.isEmpty {
            logger.warning(
                "instance metadata: cannot tell the primary interface (no main-table default route on a metadata interface, no device-number 0); expecting nothing",
                metadata: ["unmatched_macs": "\(result.unmatched.joined(separator: ","))"])
        } else {
            logger.info(
                "discovered subnet routes",
                metadata: [
                    "primary": "\(result.primary ?? "-")", "expectations": "\(routes.joined(separator: "; "))",
                    "unmatched_macs": "\(result.unmatched.joined(separator: ","))",
                ])
        }
    }
}
