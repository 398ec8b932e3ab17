import Netlink

/// One promise the operator asked for: traffic from `source` (an address of `interface`) to
/// `destination` leaves by `interface`, via that subnet's gateway.
public struct SubnetRouteExpectation: Hashable, Sendable, CustomStringConvertible {
    public var interface: String
    public var interfaceIndex: InterfaceIndex
    public var source: IPAddress
    public var subnet: IPPrefix
    public var destination: IPPrefix
    public var gateway: IPAddress

    public init(
        interface: String, interfaceIndex: InterfaceIndex, source: IPAddress, subnet: IPPrefix, destination: IPPrefix, gateway: IPAddress
    ) {
        self.interface = interface
        self.interfaceIndex = interfaceIndex
        self.source = source
        self.subnet = subnet
        self.destination = destination
        self.gateway = gateway
    }

    /// Identity for findings, metrics and repair history: the interface and the destination.
    public struct ID: Hashable, Sendable, CustomStringConvertible {
        public var interface: String
        public var destination: IPPrefix

        public init(interface: String, destination: IPPrefix) {
            self.interface = interface
            self.destination = destination
        }

        /// The finding key `/findings` serves (`net1 10.5.2.0/24`).
        public var description: String { "\(interface) \(destination)" }
    }

    public var id: ID { ID(interface: interface, destination: destination) }
    /// The identity as text, for the planner's lookup table and the finding key.
    public var key: String { id.description }

    /// An address inside `destination` to ask the kernel about: the first host, or the address
    /// itself for a host prefix.
    public var probe: IPAddress {
        let width = destination.address.bitWidth
        guard destination.length < width - 1 else { return destination.address }
        switch destination.address {
        case .v4(let v): return .v4(v &+ 1)
        case .v6(let hi, let lo): return .v6(hi, lo &+ 1)
        }
    }

    public var description: String { "\(destination) from \(source) via \(gateway) dev \(interface)" }

    /// Expectations for every configured interface that exists now, one per address of the
    /// destination's family (IPv6 link-local addresses are not sources for subnet traffic).
    /// Interfaces not present yet (hot-plugged later) simply yield none until they appear.
    public static func all(
        in state: borrowing NodeState, subnetRoutes: [String: [IPPrefix]], gateways: [String: IPAddress]
    ) -> [SubnetRouteExpectation] {
        var result: [SubnetRouteExpectation] = []
        for (name, destinations) in subnetRoutes.sorted(by: { $0.key < $1.key }) {
            guard let link = state.link(named: name) else { continue }
            for address in state.addresses(on: link.index) where !address.address.isLinkLocal {
                for destination in destinations where destination.address.family == address.address.family {
                    let subnet = address.subnet
                    let gateway = gateways[name].flatMap { $0.family == subnet.address.family ? $0 : nil } ?? subnet.firstHost
                    result.append(
                        SubnetRouteExpectation(
                            interface: name, interfaceIndex: link.index, source: address.address, subnet: subnet,
                            destination: destination, gateway: gateway))
                }
            }
        }
        return result
    }
}

extension IPAddress {
    /// IPv4 169.254/16 and IPv6 fe80::/10.
    public var isLinkLocal: Bool {
        switch self {
        case .v4(let v): return v >> 16 == 0xA9FE
        case .v6(let hi, _): return hi >> 54 == 0x3FA
        }
    }
}

extension IPPrefix {
    /// The subnet's first address after the network address: the gateway clouds reserve.
    public var firstHost: IPAddress {
        switch address.masked(to: length) {
        case .v4(let v): return .v4(v &+ 1)
        case .v6(let hi, let lo): return .v6(hi, lo &+ 1)
        }
    }
}
