import Logging
import NIOHTTP1
import PathwatchCore

/// What the HTTP endpoint serves. Read-only: every path reads the model, the metrics or the
/// findings and changes nothing on the node.
final class AgentEndpoint: HTTPEndpointHandler {
    private let state: LiveNodeState
    private let conntrack: LiveConntrackTable?
    private let metrics: AgentMetrics
    private let findings: FindingsRegistry
    private let linkStatistics: LinkStatisticsCollector
    private let conntrackStatistics: ConntrackStatisticsCollector?
    private let selfSourcedSynMode: @Sendable () -> SelfSourcedSynMode
    private let logger: Logger

    init(
        state: LiveNodeState, conntrack: LiveConntrackTable?, metrics: AgentMetrics, findings: FindingsRegistry,
        httpStatistics: @escaping @Sendable () -> HTTPServerStatistics.Snapshot?, webSecurity: Bool = false,
        selfSourcedSynMode: @escaping @Sendable () -> SelfSourcedSynMode = { .none }, logger: Logger
    ) {
        self.selfSourcedSynMode = selfSourcedSynMode
        self.state = state
        self.conntrack = conntrack
        self.metrics = metrics
        self.findings = findings
        self.linkStatistics = LinkStatisticsCollector(state: state)
        self.conntrackStatistics = conntrack == nil ? nil : ConntrackStatisticsCollector()
        self.logger = logger
        metrics.register(ModelCollector { [state] in state.read { ModelReading($0, ready: state.isReady) } })
        metrics.register(HTTPCollector(read: httpStatistics, webSecurity: webSecurity))
    }

    func metrics() async -> HTTPResponseBody {
        if let error = await linkStatistics.refresh() {
            logger.warning("could not refresh interface counters; serving the last known values", metadata: ["error": "\(error)"])
        }
        if let conntrack, let conntrackStatistics {
            switch await conntrackStatistics.read() {
            case .success(let statistics): metrics.conntrack.record(statistics, kernelHasFlows: conntrack.kernelHasFlows)
            case .failure(let error): logger.warning("could not read conntrack statistics", metadata: ["error": "\(error)"])
            }
        }
        metrics.setFindingCounts(findings.snapshot())
        return HTTPResponseBody(
            status: .ok, contentType: HTTPResponseBody.prometheusContentType, body: metrics.exposition(), compressible: true)
    }

    func findings() async -> HTTPResponseBody {
        .json(findings.json())
    }

    func health() async -> HTTPResponseBody {
        .text("ok")
    }

    func readiness() async -> HTTPResponseBody {
        let pending = state.pendingParts
        if pending.isEmpty {
            return .text("ready\nself-sourced SYN detection: \(selfSourcedSynMode().readiness)")
        }
        return .text(
            "not ready: waiting for the first full dump of \(pending.sorted().joined(separator: ", "))", status: .serviceUnavailable)
    }

    func state() async -> HTTPResponseBody {
        let flows = conntrack?.count
        // Copy out under the lock (copy-on-write: O(1) here), sort and encode outside it, so the
        // watchers never wait for an encoding (1.2 s with 200k routes, issue 17 item 8).
        let snapshot = state.read { copy $0 }
        return .json(StateDocument(snapshot, conntrackFlows: flows).json())
    }
}
