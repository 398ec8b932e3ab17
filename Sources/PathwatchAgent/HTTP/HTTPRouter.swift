import NIOHTTP1

/// The resources of the endpoint.
enum HTTPRoute: Sendable, Hashable, CaseIterable {
    case metrics
    case findings
    case health
    case readiness
    case state

    var path: String {
        switch self {
        case .metrics: "/metrics"
        case .findings: "/findings"
        case .health: "/healthz"
        case .readiness: "/readyz"
        case .state: "/state"
        }
    }
}

/// Maps a request to a resource. Pure: no I/O, no state.
enum HTTPRouter {
    enum Decision: Sendable, Hashable {
        case serve(HTTPRoute)
        /// 404.
        case notFound
        /// 405; the endpoint is read-only, whatever the path.
        case methodNotAllowed
    }

    /// Value of the `Allow` header on 405 responses.
    static let allowedMethods = "GET, HEAD"

    static func decide(method: HTTPMethod, uri: String) -> Decision {
        guard method == .GET || method == .HEAD else { return .methodNotAllowed }
        let path = Self.path(of: uri)
        guard let route = HTTPRoute.allCases.first(where: { $0.path == path }) else { return .notFound }
        return .serve(route)
    }

    /// The path of a request target, without query or fragment.
    static func path(of uri: String) -> Substring {
        uri.prefix { $0 != "?" && $0 != "#" }
    }
}
