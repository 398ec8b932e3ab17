/// One stored route: its packed key and ids into the store's pools (0: none). No references, so
/// an array of them is one flat allocation; 48 bytes with padding.
struct RouteRecord: Equatable, Sendable {
    var key: PackedRouteKey
    /// `Route.Paths` in the store's pool; 0 for a route without next hops.
    var paths: UInt32
    var preferredSource: UInt32
    var protocolID: UInt8
    var scope: UInt8
    /// `Route.priority` was given (the key holds 0 for both "none" and 0, as the kernel does).
    var hasPriority: Bool
}
