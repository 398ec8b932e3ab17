/// Why a request to the API server did not give what was asked for; the reporters retry with
/// backoff and log once per change of this.
public enum KubernetesAPIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No HTTP answer: refused, TLS verification failed, timed out.
    case unreachable(String)
    /// An HTTP status outside 2xx, with the API's `Status` message when there was one.
    case status(Int, String)
    /// A 2xx answer that is not what the API sends (a proxy's page, truncated JSON).
    case invalidAnswer(String)
    /// Credentials or CA could not be read (a missing token file).
    case configuration(String)

    public var description: String {
        switch self {
        case .unreachable(let why): return "API server unreachable: \(why)"
        case .status(let code, let message): return "API server answered \(code)\(message.isEmpty ? "" : ": \(message)")"
        case .invalidAnswer(let why): return "API server answer not understood: \(why)"
        case .configuration(let why): return "Kubernetes access not usable: \(why)"
        }
    }

    /// The class of failure, for "one log line per state change".
    public var category: String {
        switch self {
        case .unreachable: return "unreachable"
        case .status(let code, _): return "status \(code)"
        case .invalidAnswer: return "invalid answer"
        case .configuration: return "configuration"
        }
    }
}
