import FoundationEssentials
import Logging
import PathwatchCore
import ServiceLifecycle

/// Reports the open findings on the Node: pathwatch's conditions in `status.conditions`
/// (``NodeConditionEngine`` decides what and when) and Events (``NodeEventPlanner``).
///
/// Reads the findings registry once a second and talks to the API from its own task: a slow or
/// unreachable API server delays only this reporter (retries back off up to a minute), never
/// detection, metrics or `/readyz`. Logs once per change of the API's state, not per attempt.
final class NodeReporter: Service {
    private let client: KubernetesClient
    private let node: String
    private let settings: AgentConfig.KubernetesSettings
    private let findings: FindingsRegistry
    private let modelReady: @Sendable () -> Bool
    private let logger: Logger
    private let engineSettings: NodeConditionEngine.Settings
    static let maxQueuedEvents = 50

    init(
        client: KubernetesClient, node: String, settings: AgentConfig.KubernetesSettings, firstWindow: Duration,
        findings: FindingsRegistry, modelReady: @escaping @Sendable () -> Bool, logger: Logger
    ) {
        self.client = client
        self.node = node
        self.settings = settings
        self.findings = findings
        self.modelReady = modelReady
        self.logger = logger
        var c = NodeConditionEngine.Settings()
        c.heartbeat = .milliseconds(Int64(settings.heartbeatSeconds * 1000))
        c.firstWindow = firstWindow
        engineSettings = c
    }

    /// What the reporter remembers between ticks; owned by its task.
    struct Memory {
        var conditions: NodeConditionEngine
        var events = NodeEventPlanner(settings: .init())
        /// Events not yet accepted by the API (bounded: the oldest go first).
        var queued: [(NodeEvent, Date)] = []
        var uid: String?
        var backoff = RetryBackoff()
        var retryAt: ContinuousClock.Instant?
        var health = APIHealthLog(what: "node status")
        /// Status per condition type as last accepted, to log changes only.
        var statuses: [String: String] = [:]
    }

    func run() async throws {
        logger.info(
            "kubernetes reporting on",
            metadata: ["node": "\(node)", "conditions": "\(settings.conditions)", "events": "\(settings.events)"])
        await cancelWhenGracefulShutdown { [self] in
            var memory = Memory(conditions: NodeConditionEngine(settings: engineSettings))
            while !Task.isCancelled {
                await tick(&memory, now: .now)
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    func tick(_ m: inout Memory, now: ContinuousClock.Instant) async {
        let open = findings.snapshot()
        if settings.events {
            for event in m.events.plan(open: open, now: now) { m.queued.append((event, Date())) }
            if m.queued.count > Self.maxQueuedEvents { m.queued.removeFirst(m.queued.count - Self.maxQueuedEvents) }
        }
        if let retryAt = m.retryAt, now < retryAt { return }
        do throws(KubernetesAPIError) {
            if m.uid == nil {
                let snapshot = try await readNode()
                m.uid = snapshot.uid
                m.conditions.seed(snapshot.conditions)
            }
            if settings.conditions {
                let patch = m.conditions.plan(open: open, modelReady: modelReady(), now: now, wall: Date())
                if !patch.isEmpty {
                    _ = try await client.send(
                        .patch, "/api/v1/nodes/\(node)/status", body: NodeConditionPatch(conditions: patch).json(),
                        contentType: NodeConditionPatch.contentType)
                    m.conditions.acknowledge(patch, at: now)
                    for condition in patch where m.statuses[condition.type] != condition.status {
                        m.statuses[condition.type] = condition.status
                        logger.notice(
                            "node condition set",
                            metadata: [
                                "node": "\(node)", "condition": "\(condition.type)", "status": "\(condition.status)",
                                "reason": "\(condition.reason)",
                            ])
                    }
                }
            }
            if let uid = m.uid {
                while let (event, time) = m.queued.first {
                    let object = NodeEventObject(event, node: node, uid: uid, at: time)
                    do throws(KubernetesAPIError) {
                        _ = try await client.send(.create, "/api/v1/namespaces/\(NodeEventObject.namespace)/events", body: object.json())
                    } catch {
                        // An event the API finds invalid would block the queue for ever: drop it.
                        guard case .status(let code, _) = error, code == 400 || code == 422 else { throw error }
                        logger.warning(
                            "event refused by the API server; dropped", metadata: ["reason": "\(event.reason)", "error": "\(error)"])
                    }
                    m.queued.removeFirst()
                }
            }
            m.backoff.succeeded()
            m.retryAt = nil
            m.health.succeeded(logger)
        } catch {
            if Task.isCancelled { return }  // shutting down, not a failure of the API
            if case .status(404, _) = error { m.uid = nil }  // the Node was re-created: read its uid again
            let wait = m.backoff.failed()
            m.retryAt = now + wait
            m.health.failed(error, retryIn: wait, logger)
        }
    }

    private func readNode() async throws(KubernetesAPIError) -> NodeSnapshot {
        let body = try await client.send(.get, "/api/v1/nodes/\(node)")
        do {
            return try NodeSnapshot.decode(body)
        } catch {
            throw .invalidAnswer(error.description)
        }
    }
}

/// One log line per change of the API's state (working, or failing in a new way), not one per
/// attempt: an API server down for an hour is two lines, not 3,600.
struct APIHealthLog {
    let what: String
    private var failing: String?

    init(what: String) { self.what = what }

    mutating func succeeded(_ logger: Logger) {
        guard let previous = failing else { return }
        failing = nil
        logger.notice("kubernetes API reachable again", metadata: ["reporter": "\(what)", "was": "\(previous)"])
    }

    mutating func failed(_ error: KubernetesAPIError, retryIn: Duration, _ logger: Logger) {
        guard failing != error.category else { return }
        failing = error.category
        logger.warning(
            "kubernetes API request failed; detection goes on, retrying with backoff",
            metadata: ["reporter": "\(what)", "error": "\(error)", "retry_in": "\(retryIn)"])
    }
}
