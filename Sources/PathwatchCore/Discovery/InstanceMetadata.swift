import Netlink

/// Pure parsers for the EC2 instance metadata answers discovery reads (IMDSv2). Each takes the
/// body as the service sent it and returns typed values or a `garbage` ``MetadataError``.
public enum InstanceMetadata {
    /// The paths discovery reads, relative to the endpoint.
    public enum Path {
        public static let token = "/latest/api/token"
        public static let macs = "/latest/meta-data/network/interfaces/macs/"
        public static func interface(_ mac: String, _ item: String) -> String { macs + mac + "/" + item }
    }

    /// Most interfaces an instance can have is 50-odd; more lines than this is not a MAC list.
    public static let maxInterfaces = 128
    /// More CIDR blocks than this in one answer is not a VPC's list.
    public static let maxBlocks = 64
    /// Largest body accepted from the service.
    public static let maxBodyBytes = 64 * 1024

    /// The session token answer of `PUT /latest/api/token`: printable ASCII, no spaces.
    public static func token(_ body: [UInt8]) throws(MetadataError) -> String {
        let text = try lines(body, "api/token")
        guard text.count == 1, let token = text.first, (1...4096).contains(token.utf8.count),
            token.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
        else { throw MetadataError(.garbage, "api/token: not a session token") }
        return token
    }

    /// `network/interfaces/macs/`: one `mac/` per line, e.g. `0e:49:61:0f:c3:11/`. Returns the
    /// MACs lower-cased, in the order given, without duplicates.
    public static func macs(_ body: [UInt8]) throws(MetadataError) -> [String] {
        let text = try lines(body, "macs/")
        guard !text.isEmpty else { throw MetadataError(.garbage, "macs/: no interfaces listed") }
        guard text.count <= maxInterfaces else { throw MetadataError(.garbage, "macs/: more than \(maxInterfaces) lines") }
        var result: [String] = []
        for line in text {
            let candidate = line.hasSuffix("/") ? String(line.dropLast()) : line
            guard let mac = normalizedMAC(candidate) else { throw MetadataError(.garbage, "macs/: not a MAC address: \(printable(line))") }
            if !result.contains(mac) { result.append(mac) }
        }
        return result
    }

    /// `xx:xx:xx:xx:xx:xx` in lower case, or nil.
    public static func normalizedMAC(_ text: String) -> String? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6,
            parts.allSatisfy({
                $0.utf8.count == 2 && $0.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }
            })
        else { return nil }
        return text.lowercased()
    }

    /// One CIDR block (`subnet-ipv4-cidr-block`), of `family`.
    public static func prefix(_ body: [UInt8], _ item: String, family: AddressFamily) throws(MetadataError) -> IPPrefix {
        let list = try prefixes(body, item, family: family)
        guard list.count == 1 else { throw MetadataError(.garbage, "\(item): expected one CIDR block, got \(list.count)") }
        return list[0]
    }

    /// Newline-separated CIDR blocks (`vpc-ipv4-cidr-blocks`, `subnet-ipv6-cidr-blocks`, …), of
    /// `family`, at least one. Blocks are canonical (no host bits): anything else is garbage.
    public static func prefixes(_ body: [UInt8], _ item: String, family: AddressFamily) throws(MetadataError) -> [IPPrefix] {
        let text = try lines(body, item)
        guard !text.isEmpty else { throw MetadataError(.garbage, "\(item): empty") }
        guard text.count <= maxBlocks else { throw MetadataError(.garbage, "\(item): more than \(maxBlocks) blocks") }
        var result: [IPPrefix] = []
        for line in text {
            guard line.contains("/"), let prefix = IPPrefix(line), prefix.address.family == family else {
                throw MetadataError(.garbage, "\(item): not an \(family == .inet ? "IPv4" : "IPv6") CIDR block: \(printable(line))")
            }
            if !result.contains(prefix) { result.append(prefix) }
        }
        return result
    }

    /// `device-number`: 0 for the primary interface.
    public static func deviceNumber(_ body: [UInt8]) throws(MetadataError) -> Int {
        let text = try lines(body, "device-number")
        guard text.count == 1, text[0].utf8.count <= 4, text[0].utf8.allSatisfy({ (0x30...0x39).contains($0) }), let n = Int(text[0]) else {
            throw MetadataError(.garbage, "device-number: not a number")
        }
        return n
    }

    /// The body as non-empty lines, each trimmed; refuses oversized, non-UTF-8 or control bytes.
    static func lines(_ body: [UInt8], _ item: String) throws(MetadataError) -> [String] {
        guard body.count <= maxBodyBytes else { throw MetadataError(.garbage, "\(item): answer larger than \(maxBodyBytes) bytes") }
        guard body.allSatisfy({ $0 == 10 || $0 == 13 || $0 == 9 || (0x20...0x7E).contains($0) }) else {
            throw MetadataError(.garbage, "\(item): answer contains non-text bytes")
        }
        let text = String(decoding: body, as: UTF8.self)
        return text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }).map { String($0.trimmingSpaces) }.filter {
            !$0.isEmpty
        }
    }
}

/// What the metadata service says about one network interface.
public struct MetadataInterface: Sendable, Equatable {
    public var mac: String
    public var deviceNumber: Int?
    public var subnetIPv4: IPPrefix
    public var vpcIPv4: [IPPrefix]
    public var subnetIPv6: [IPPrefix]
    public var vpcIPv6: [IPPrefix]

    public init(
        mac: String, deviceNumber: Int? = nil, subnetIPv4: IPPrefix, vpcIPv4: [IPPrefix], subnetIPv6: [IPPrefix] = [],
        vpcIPv6: [IPPrefix] = []
    ) {
        self.mac = mac
        self.deviceNumber = deviceNumber
        self.subnetIPv4 = subnetIPv4
        self.vpcIPv4 = vpcIPv4
        self.subnetIPv6 = subnetIPv6
        self.vpcIPv6 = vpcIPv6
    }
}

/// Turns metadata about interfaces into subnet-route expectations for the node as it is now.
public enum MetadataExpectations {
    public struct Result: Sendable, Equatable {
        /// Interface name → VPC CIDR blocks it must reach via its own subnet gateway.
        public var subnetRoutes: [String: [IPPrefix]] = [:]
        /// Interface name → its IPv4 subnet's first address.
        public var gateways: [String: IPAddress] = [:]
        /// The interface left without expectations, nil when none could be told apart (then
        /// nothing is expected of any interface).
        public var primary: String?
        /// MACs the metadata lists that no interface on the node has (yet).
        public var unmatched: [String] = []
        public init() {}
    }

    /// The primary interface is the one holding the main table's IPv4 default route (lowest
    /// metric first) when it is a metadata interface, else the one with device-number 0. It gets
    /// nothing; every other metadata interface present must reach every VPC block (IPv4, and
    /// IPv6 where the VPC has some) via its own subnet's gateway.
    public static func compute(_ interfaces: [MetadataInterface], state: borrowing NodeState) -> Result {
        var result = Result()
        var byMAC: [String: String] = [:]
        for link in state.links.values.sorted(by: { $0.index.rawValue < $1.index.rawValue }) {
            if let mac = link.macString, byMAC[mac] == nil { byMAC[mac] = link.name }
        }
        let known = interfaces.compactMap { i in byMAC[i.mac].map { (name: $0, info: i) } }
        result.unmatched = interfaces.filter { byMAC[$0.mac] == nil }.map(\.mac)

        let defaults = state.routeIndexes.defaults.compactMap { state.routes[$0] }.filter { route in
            route.table == .main && route.family == .inet && route.type == .unicast
        }.sorted { ($0.priority ?? 0) < ($1.priority ?? 0) }
        let names = Set(known.map(\.name))
        if let route = defaults.first, let index = route.outputInterface, let name = state.links[index]?.name, names.contains(name) {
            result.primary = name
        } else {
            result.primary = known.first { $0.info.deviceNumber == 0 }?.name
        }
        guard let primary = result.primary else { return result }
        for (name, info) in known where name != primary {
            result.subnetRoutes[name] = info.vpcIPv4 + info.vpcIPv6
            result.gateways[name] = info.subnetIPv4.firstHost
        }
        return result
    }
}
