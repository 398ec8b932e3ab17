import NIOHTTP1
import PathwatchCore

/// The IMDSv2 conversation: a session token, then the interface list and, per interface, its
/// subnet and the VPC's CIDR blocks. Everything the service says goes through the pure parsers
/// of ``InstanceMetadata``.
struct MetadataClient {
    var http: MetadataHTTPClient
    var settings: AgentConfig.DiscoverySettings

    private func request(_ method: HTTPMethod, _ path: String, _ headers: [(String, String)]) async throws(MetadataError) -> HTTPResponse {
        try await http.request(
            method, host: settings.endpoint.host, port: settings.endpoint.port, path, headers: headers, timeout: settings.timeoutSeconds)
    }

    func interfaces() async throws(MetadataError) -> [MetadataInterface] {
        let tokenResponse = try await request(.PUT, InstanceMetadata.Path.token, [("X-aws-ec2-metadata-token-ttl-seconds", "21600")])
        guard tokenResponse.status == 200 else {
            throw MetadataError(.httpStatus, "PUT \(InstanceMetadata.Path.token) answered \(tokenResponse.status)")
        }
        let token = try InstanceMetadata.token(tokenResponse.body)
        func get(_ path: String, optional: Bool) async throws(MetadataError) -> [UInt8]? {
            let response = try await request(.GET, path, [("X-aws-ec2-metadata-token", token)])
            if optional, response.status == 404 { return nil }
            guard response.status == 200 else { throw MetadataError(.httpStatus, "GET \(path) answered \(response.status)") }
            return response.body
        }
        var result: [MetadataInterface] = []
        for mac in try InstanceMetadata.macs(await get(InstanceMetadata.Path.macs, optional: false) ?? []) {
            let path = { (item: String) in InstanceMetadata.Path.interface(mac, item) }
            let subnet = try InstanceMetadata.prefix(
                await get(path("subnet-ipv4-cidr-block"), optional: false) ?? [], "subnet-ipv4-cidr-block", family: .inet)
            let vpc = try InstanceMetadata.prefixes(
                await get(path("vpc-ipv4-cidr-blocks"), optional: false) ?? [], "vpc-ipv4-cidr-blocks", family: .inet)
            let device = try await get(path("device-number"), optional: true).map { body throws(MetadataError) in
                try InstanceMetadata.deviceNumber(body)
            }
            let subnet6 = try await get(path("subnet-ipv6-cidr-blocks"), optional: true).map { body throws(MetadataError) in
                try InstanceMetadata.prefixes(body, "subnet-ipv6-cidr-blocks", family: .inet6)
            }
            let vpc6 = try await get(path("vpc-ipv6-cidr-blocks"), optional: true).map { body throws(MetadataError) in
                try InstanceMetadata.prefixes(body, "vpc-ipv6-cidr-blocks", family: .inet6)
            }
            result.append(
                MetadataInterface(
                    mac: mac, deviceNumber: device, subnetIPv4: subnet, vpcIPv4: vpc, subnetIPv6: subnet6 ?? [], vpcIPv6: vpc6 ?? []))
        }
        return result
    }
}
