import Prometheus
import Synchronization

/// `pathwatch_kubernetes_requests_total{verb,result}`, on the agent's registry. Series appear
/// on first use, so an agent with `kubernetes.enabled: false` serves none.
public final class KubernetesMetrics: Sendable {
    public enum Verb: String, Sendable, CaseIterable {
        case get, list, watch, patch, create
    }

    /// Bounded outcomes of one request.
    public enum Result: String, Sendable, CaseIterable {
        case success
        case unauthorized
        case forbidden
        case notFound = "not_found"
        case conflict
        /// 410: a watch's resourceVersion is too old.
        case gone
        case clientError = "client_error"
        case serverError = "server_error"
        /// No answer: connection refused, TLS failure, timeout.
        case unreachable
        /// An answer that is not the JSON expected.
        case invalidAnswer = "invalid_answer"

        public init(status: Int) {
            switch status {
            case 200..<300: self = .success
            case 401: self = .unauthorized
            case 403: self = .forbidden
            case 404: self = .notFound
            case 409: self = .conflict
            case 410: self = .gone
            case 400..<500: self = .clientError
            default: self = .serverError
            }
        }
    }

    private let registry: PrometheusCollectorRegistry
    private let counters = Mutex<[String: Counter]>([:])

    public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    public func count(_ verb: Verb, _ result: Result) {
        let counter = counters.withLock { counters in
            let key = "\(verb.rawValue) \(result.rawValue)"
            if let existing = counters[key] { return existing }
            let made = registry.counter(
                name: "pathwatch_kubernetes_requests_total", labels: [("verb", verb.rawValue), ("result", result.rawValue)],
                help: "Requests to the Kubernetes API server by verb and outcome.")
            counters[key] = made
            return made
        }
        counter.increment()
    }
}
