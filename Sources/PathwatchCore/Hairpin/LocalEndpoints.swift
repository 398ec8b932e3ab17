import Netlink

/// What is hosted on this node, decided the way the node routes: its own addresses, pod
/// addresses with host routes (/32, /128) to their links, and every address of a subnet
/// connected to a link that leads nowhere else — a bridge of pods (flannel's `cni0`, kubenet's
/// `cbr0`, `docker0`) or a veth — found from the connected subnets, not from the link's kind.
///
/// A connected subnet is *not* hosted here when its link is an uplink: some route leaves through
/// it via a gateway (the default route, a VPC route), or it is a physical device (no link kind),
/// whose subnet holds other machines (the balancer, other nodes).
public struct LocalEndpoints: Sendable, Equatable {
    public var addresses: Set<IPAddress>
    public var subnets: [IPPrefix]

    public init(addresses: Set<IPAddress> = [], subnets: [IPPrefix] = []) {
        self.addresses = addresses
        self.subnets = subnets
    }

    public func contains(_ address: IPAddress) -> Bool {
        addresses.contains(address)
            || subnets.contains { $0.address.family == address.family && address.masked(to: $0.length) == $0.address }
    }

    /// The subnets connected to links that only lead to this node's workloads.
    ///
    /// - Parameters:
    ///   - uplinks: links some route leaves through via a gateway.
    ///   - links: the node's links, for loopback and physical devices.
    public static func hostedSubnets(addresses: [InterfaceAddress], links: [InterfaceIndex: Link], uplinks: Set<InterfaceIndex>)
        -> [IPPrefix]
    {
        var subnets: Set<IPPrefix> = []
        for address in addresses where address.prefixLength > 0 && address.prefixLength < address.address.bitWidth {
            guard !uplinks.contains(address.interface), let link = links[address.interface], !link.flags.contains(.loopback),
                link.kind != nil, !address.address.isIPv6LinkLocal
            else { continue }
            subnets.insert(address.subnet)
        }
        return subnets.sorted { ($0.address, $0.length) < ($1.address, $1.length) }
    }
}

extension IPAddress {
    /// `fe80::/10`: on every IPv6 link, never a workload's address.
    var isIPv6LinkLocal: Bool {
        if case .v6(let hi, _) = self { return hi >> 54 == 0x3FA }
        return false
    }
}
