/// Why reading the instance metadata failed, with a bounded reason for metrics and a message
/// for logs. The answers are untrusted input: anything unexpected is `garbage`, never a trap.
public struct MetadataError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, CaseIterable {
        /// No connection or no complete answer within `discovery.timeoutSeconds`.
        case timeout
        /// The service answered with a status other than 200 (or 404 where that means "none").
        case httpStatus = "http_status"
        /// The answer was not HTTP, was too large, or was not what the metadata service says.
        case garbage
        /// Refused, no route, reset: nothing answers at the endpoint.
        case unreachable
    }

    public var reason: Reason
    public var message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}
