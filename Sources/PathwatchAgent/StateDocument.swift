import FoundationEssentials
import Netlink
import PathwatchCore

/// `GET /state`: the agent's model of the node as JSON, so an operator (and the namespace
/// tests) can compare what pathwatch believes with what `ip` says.
struct StateDocument: Encodable {
    struct LinkEntry: Encodable {
        var index: Int32
        var name: String
        var kind: String?
        var mac: String?
        var mtu: UInt32?
        var operState: String
        var up: Bool
    }

    struct AddressEntry: Encodable {
        var interface: String
        var address: String
        var prefixLength: Int
    }

    struct NextHopEntry: Encodable {
        var gateway: String?
        var interface: String?
        var weight: Int
    }

    struct RouteEntry: Encodable {
        var family: String
        var table: UInt32
        var destination: String
        var source: String?
        var type: String
        var `protocol`: String
        var scope: UInt8
        var priority: UInt32?
        var preferredSource: String?
        var nextHops: [NextHopEntry]
    }

    struct RuleEntry: Encodable {
        var family: String
        var priority: UInt32
        var source: String?
        var destination: String?
        var table: UInt32
        var inputInterface: String?
        var outputInterface: String?
        var firewallMark: UInt32?
    }

    var links: [LinkEntry]
    var addresses: [AddressEntry]
    var routes: [RouteEntry]
    var rules: [RuleEntry]
    var localEndpoints: [String]
    var conntrackFlows: Int?

    init(_ state: borrowing NodeState, conntrackFlows: Int?) {
        let names = state.links.mapValues(\.name)
        func name(_ index: InterfaceIndex?) -> String? { index.map { names[$0] ?? "if\($0.rawValue)" } }
        links = state.links.values.sorted { $0.index < $1.index }.map {
            LinkEntry(
                index: $0.index.rawValue, name: $0.name, kind: $0.kind, mac: $0.macString, mtu: $0.mtu,
                operState: $0.operState.description, up: $0.flags.contains(.up))
        }
        addresses = state.addresses.values.sorted { ($0.interface, $0.address) < ($1.interface, $1.address) }.map {
            AddressEntry(interface: name($0.interface) ?? "", address: "\($0.address)", prefixLength: $0.prefixLength)
        }
        routes = state.routes.values.sorted {
            ($0.table.rawValue, $0.destination.address, $0.destination.length) < (
                $1.table.rawValue, $1.destination.address, $1.destination.length
            )
        }.map { route in
            RouteEntry(
                family: route.family.description, table: route.table.rawValue, destination: "\(route.destination)",
                source: route.source.map { "\($0)" }, type: Self.typeName(route.type), protocol: route.protocolID.description,
                scope: route.scope.rawValue, priority: route.priority, preferredSource: route.preferredSource.map { "\($0)" },
                nextHops: route.nextHops.map {
                    NextHopEntry(gateway: $0.gateway.map { "\($0)" }, interface: name($0.interface), weight: $0.weight)
                })
        }
        rules = state.rules.sorted { ($0.family.rawValue, $0.priority) < ($1.family.rawValue, $1.priority) }.map {
            RuleEntry(
                family: $0.family.description, priority: $0.priority, source: $0.source.map { "\($0)" },
                destination: $0.destination.map { "\($0)" }, table: $0.table.rawValue, inputInterface: $0.inputInterface,
                outputInterface: $0.outputInterface, firewallMark: $0.firewallMark)
        }
        localEndpoints = state.localEndpoints.sorted().map { "\($0)" }
        self.conntrackFlows = conntrackFlows
    }

    static func typeName(_ type: RouteType) -> String {
        switch type {
        case .unicast: "unicast"
        case .local: "local"
        case .broadcast: "broadcast"
        case .anycast: "anycast"
        case .multicast: "multicast"
        case .blackhole: "blackhole"
        case .unreachable: "unreachable"
        case .prohibit: "prohibit"
        default: "\(type.rawValue)"
        }
    }

    func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? Array(encoder.encode(self))) ?? Array(#"{"error":"could not encode the state"}"#.utf8)
    }
}
