import Netlink

extension MissingSubnetRouteReport {
    /// One paragraph an operator can act on (what `doctor` prints as `why:`), for the states the
    /// generic text does not explain: a half-fix already in place, a foreign route in the way, a
    /// policy rule sending the traffic elsewhere. nil keeps the generic text (the incident).
    static func explanation(_ item: SubnetRoutePlanner.Item, names: [InterfaceIndex: String]) -> String? {
        let e = item.expectation
        let wanted = "ip route replace \(e.destination) via \(e.gateway) dev \(e.interface)"
        let mirrored = "on both sides (the peer needs the mirrored route)"
        let policy =
            "or set repair.strategy: policy-routing so pathwatch routes the traffic from \(e.interface)'s address in its own table, beside the route that is there"
        if let rule = item.selectedBy {
            return
                "Policy rule `\(describe(rule))` sends this traffic to table \(rule.table) before the routes pathwatch would add are consulted. Change or remove that rule (it is not pathwatch's), or make table \(rule.table) route \(e.destination) via \(e.gateway) dev \(e.interface)."
        }
        if case .route(let interface?, let gateway, _)? = item.lookup, interface == e.interfaceIndex {
            guard let gateway else {
                return
                    "An on-link route sends the traffic out of \(e.interface) without a gateway: nobody answers ARP for an address outside \(e.interface)'s subnet \(e.subnet), so every packet dies in the neighbour table. Route it via the subnet gateway instead, \(mirrored): `\(wanted)`, \(policy)."
            }
            return
                "The traffic leaves by \(e.interface) via \(gateway), not via the subnet gateway \(e.gateway). If \(gateway) is a router that forwards it, declare it under subnetGateways; otherwise `\(wanted)`, \(mirrored)."
        }
        if let kind = item.lookup?.refusingRoute {
            let route =
                item.conflict.map { "`\(BlockingRoute($0.route, names: names).route)`" } ?? "(`ip route show match \(e.probe)` names it)"
            return
                "The kernel refuses this traffic outright: \(kind) \(route) covers \(e.destination), so packets from \(e.interface) are dropped on the node before any interface is tried. If nothing needs that route (a leftover from maintenance or a deny list), remove it; then route the peer via the subnet gateway, \(mirrored): `\(wanted)`, \(policy)."
        }
        if let conflict = item.conflict {
            return
                "A route pathwatch does not own (`\(BlockingRoute(conflict.route, names: names).route)`) is in the way, and pathwatch never changes or out-ranks someone else's route. Replace it by hand, \(mirrored): `\(wanted)`, \(policy)."
        }
        return nil
    }
}
