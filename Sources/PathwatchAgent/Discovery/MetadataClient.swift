import PathwatchCore

/// The IMDSv2 conversation: a session token, then the interface list and, per interface, its
/// subnet and the VPC's CIDR blocks. Everything the service says goes through the pure parsers
/// of ``InstanceMetadata``.
struct MetadataClient {
    var http: MetadataHTTPClient

    init(settings: AgentConfig.DiscoverySettings, isStopping: @escaping @Sendable () -> Bool) {
        http = MetadataHTTPClient(host: settings.endpoint.host, port: settings.endpoint.port, timeout: settings.timeoutSeconds)
        http.isStopping = isStopping
    }

    func interfaces() throws(MetadataError) -> [MetadataInterface] {
        let tokenResponse = try http.request(
            "PUT", InstanceMetadata.Path.token, headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")])
        guard tokenResponse.status == 200 else {
            throw MetadataError(.httpStatus, "PUT \(InstanceMetadata.Path.token) answered \(tokenResponse.status)")
        }
        let token = try InstanceMetadata.token(tokenResponse.body)
        let get = { (path: String, optional: Bool) throws(MetadataError) -> [UInt8]? in
            let response = try http.request("GET", path, headers: [("X-aws-ec2-metadata-token", token)])
            if optional, response.status == 404 { return nil }
            guard response.status == 200 else { throw MetadataError(.httpStatus, "GET \(path) answered \(response.status)") }
            return response.body
        }
        var result: [MetadataInterface] = []
        for mac in try InstanceMetadata.macs(get(InstanceMetadata.Path.macs, false) ?? []) {
            let path = { (item: String) in InstanceMetadata.Path.interface(mac, item) }
            let subnet = try InstanceMetadata.prefix(
                get(path("subnet-ipv4-cidr-block"), false) ?? [], "subnet-ipv4-cidr-block", family: .inet)
            let vpc = try InstanceMetadata.prefixes(get(path("vpc-ipv4-cidr-blocks"), false) ?? [], "vpc-ipv4-cidr-blocks", family: .inet)
            let device = try get(path("device-number"), true).map { body throws(MetadataError) in try InstanceMetadata.deviceNumber(body) }
            let subnet6 = try get(path("subnet-ipv6-cidr-blocks"), true).map { body throws(MetadataError) in
                try InstanceMetadata.prefixes(body, "subnet-ipv6-cidr-blocks", family: .inet6)
            }
            let vpc6 = try get(path("vpc-ipv6-cidr-blocks"), true).map { body throws(MetadataError) in
                try InstanceMetadata.prefixes(body, "vpc-ipv6-cidr-blocks", family: .inet6)
            }
            result.append(
                MetadataInterface(
                    mac: mac, deviceNumber: device, subnetIPv4: subnet, vpcIPv4: vpc, subnetIPv6: subnet6 ?? [], vpcIPv6: vpc6 ?? []))
        }
        return result
    }
}
