import Netlink
import NetlinkIO
import PathwatchCore

/// The kernel behind ``RouteTableClient``: `RouteClient`'s netlink requests, errors turned into
/// outcomes and refusals. The only part of the subnet-route slice that needs root.
final class KernelRouteTable: RouteTableClient {
    private let client: RouteClient

    init() throws(NetlinkError) { client = try RouteClient() }

    func lookup(to destination: IPAddress, from source: IPAddress) -> RouteLookupOutcome {
        do {
            let route = try client.lookup(to: destination, from: source)
            return .route(interface: route.outputInterface, gateway: route.gateway, table: route.table)
        } catch {
            if case .kernel(let errno, let message) = error.kind {
                return .refused(errno: errno.rawValue, message: message ?? "\(errno)")
            }
            return .unreachable("\(error)")
        }
    }

    func apply(_ change: RouteChange) throws(RouteChangeRefusal) {
        do {
            switch change {
            case .addRoute(let route): try client.add(route)
            case .deleteRoute(let route): try client.delete(route)
            case .addRule(let rule): try client.add(rule)
            case .deleteRule(let rule): try client.delete(rule)
            }
        } catch {
            if case .kernel(let errno, _) = error.kind { throw RouteChangeRefusal(errno: errno.rawValue, message: "\(error)") }
            throw RouteChangeRefusal(errno: 0, message: "\(error)")
        }
    }
}
