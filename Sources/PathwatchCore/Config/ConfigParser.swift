import Netlink

/// Reads the YAML configuration strictly: an unknown key or a wrong value is an error naming the
/// key, the value and the line, so a typo never silently falls back to a default.
public enum ConfigParser {
    public static func parse(_ text: String, file: String) throws(ConfigError) -> AgentConfig {
        let root: YAMLNode?
        do {
            root = try YAMLTree.compose(text)
        } catch {
            throw ConfigError(file: file, line: error.mark?.line, column: error.mark?.column, message: "not valid YAML: \(error.problem)")
        }
        var config = AgentConfig()
        guard let root else { return config }  // An empty file means all defaults.
        let reader = Reader(file: file)
        let top = try reader.mapping(root, "")
        var metadataNode: YAMLNode?
        for (key, value) in top {
            switch key.name {
            case "listen":
                let text = try reader.string(value, key.name)
                guard let address = ListenAddress(text) else {
                    throw reader.error(value, key.name, text, "expected HOST:PORT, e.g. 0.0.0.0:9469 or [::]:9469")
                }
                config.listen = address
            case "autofix":
                config.autofix = try reader.choice(value, key.name, AutofixMode.self)
            case "logFormat":
                config.logFormat = try reader.choice(value, key.name, LogFormat.self)
            case "logLevel":
                config.logLevel = try reader.choice(value, key.name, LogLevel.self)
            case "subnetRoutes":
                config.subnetRoutes = try reader.subnetRoutes(value)
            case "subnetGateways":
                for (interface, value) in try reader.mapping(value, key.name) {
                    let path = "subnetGateways.\(interface.name)"
                    let text = try reader.string(value, path)
                    guard let gateway = IPAddress(text) else { throw reader.error(value, path, text, "expected an IPv4 or IPv6 address") }
                    config.subnetGateways[interface.name] = gateway
                }
            case "liveTrafficScanSeconds":
                let seconds = try reader.seconds(value, key.name, 0...3600)
                guard seconds == 0 || seconds >= 0.5 else {
                    throw reader.error(value, key.name, "\(seconds)", "must be 0 (off) or at least 0.5 seconds")
                }
                config.liveTrafficScanSeconds = seconds
            case "releaseStartupPagesAfterSeconds":
                config.releaseStartupPagesAfterSeconds = try reader.seconds(value, key.name, 0...86_400)
            case "controlSocket":
                let path = try reader.string(value, key.name)
                guard path.hasPrefix("/"), path.utf8.count < 108 else {
                    throw reader.error(value, key.name, path, "expected an absolute path shorter than 108 bytes (a Unix socket path)")
                }
                config.controlSocket = path
            case "repair":
                for (sub, v) in try reader.mapping(value, key.name) {
                    let path = "repair.\(sub.name)"
                    switch sub.name {
                    case "strategy": config.repair.strategy = try reader.choice(v, path, RepairStrategy.self)
                    case "policyTableBase": config.repair.policyTableBase = UInt32(try reader.integer(v, path, 256...4_000_000_000))
                    case "policyRulePriority": config.repair.policyRulePriority = UInt32(try reader.integer(v, path, 1...32_765))
                    case "maxInstallsPerWindow": config.repair.maxInstallsPerWindow = try reader.integer(v, path, 1...1000)
                    case "windowSeconds": config.repair.windowSeconds = try reader.seconds(v, path, 1...86_400)
                    default: throw reader.unknown(sub, path)
                    }
                }
            case "netlink":
                for (sub, v) in try reader.mapping(value, key.name) {
                    let path = "netlink.\(sub.name)"
                    switch sub.name {
                    case "receiveBufferBytes": config.netlink.receiveBufferBytes = try reader.integer(v, path, 64 << 10...1 << 30)
                    default: throw reader.unknown(sub, path)
                    }
                }
            case "conntrack":
                for (sub, v) in try reader.mapping(value, key.name) {
                    let path = "conntrack.\(sub.name)"
                    switch sub.name {
                    case "enabled": config.conntrack.enabled = try reader.bool(v, path)
                    case "receiveBufferBytes": config.conntrack.receiveBufferBytes = try reader.integer(v, path, 64 << 10...1 << 30)
                    case "kernelFilter": config.conntrack.kernelFilter = try reader.bool(v, path)
                    case "maxTrackedFlows": config.conntrack.maxTrackedFlows = try reader.integer(v, path, 1024...50_000_000)
                    default: throw reader.unknown(sub, path)
                    }
                }
            case "hairpin":
                for (sub, v) in try reader.mapping(value, key.name) {
                    let path = "hairpin.\(sub.name)"
                    switch sub.name {
                    case "windowSeconds": config.hairpin.windowSeconds = try reader.seconds(v, path, 0.1...60)
                    case "maxTrackedFlows": config.hairpin.maxTrackedFlows = try reader.integer(v, path, 16...10_000_000)
                    case "quietSeconds": config.hairpin.quietSeconds = try reader.seconds(v, path, 1...86_400)
                    case "maxFrontendLabels": config.hairpin.maxFrontendLabels = try reader.integer(v, path, 0...1000)
                    case "maxFindings": config.hairpin.maxFindings = try reader.integer(v, path, 1...10_000)
                    case "probe": config.hairpin.probe = try reader.bool(v, path)
                    case "probeLogGroup": config.hairpin.probeLogGroup = try reader.integer(v, path, 1...65535)
                    case "probeRatePerSecond": config.hairpin.probeRatePerSecond = try reader.integer(v, path, 1...100_000)
                    default: throw reader.unknown(sub, path)
                    }
                }
            case "http": config.http = try reader.http(value)
            case "discovery":
                for (sub, v) in try reader.mapping(value, key.name) {
                    let path = "discovery.\(sub.name)"
                    switch sub.name {
                    case "metadata":
                        config.discovery.metadata = try reader.bool(v, path)
                        metadataNode = v
                    case "endpoint":
                        let text = try reader.string(v, path)
                        guard let endpoint = MetadataEndpoint(text) else {
                            throw reader.error(
                                v, path, text, "expected http://ADDRESS[:PORT] with a literal address, e.g. http://169.254.169.254")
                        }
                        config.discovery.endpoint = endpoint
                    case "timeoutSeconds": config.discovery.timeoutSeconds = try reader.seconds(v, path, 0.1...60)
                    case "refreshSeconds": config.discovery.refreshSeconds = try reader.seconds(v, path, 1...86_400)
                    default: throw reader.unknown(sub, path)
                    }
                }
            case "paths":
                config.paths = try reader.paths(value)
            case "kubernetes":
                config.kubernetes = try reader.kubernetes(value)
            default:
                throw reader.unknown(key, key.name)
            }
        }
        if config.discovery.metadata, config.repair.strategy != .policyRouting, let metadataNode {
            throw reader.error(
                metadataNode, "discovery.metadata", "true",
                "needs repair.strategy: policy-routing (it is \(config.repair.strategy.rawValue)): discovered VPC CIDR blocks routed in the main table via a secondary interface would pull the primary interface's VPC traffic out of the wrong interface"
            )
        }
        return config
    }
}

/// Typed access to YAML nodes, turning every mismatch into a ``ConfigError`` with its position.
struct Reader {
    let file: String

    struct Key {
        let name: String
        let node: YAMLNode
    }

    func error(_ node: YAMLNode, _ key: String, _ value: String?, _ message: String) -> ConfigError {
        ConfigError(
            file: file, line: node.mark.map { $0.line }, column: node.mark.map { $0.column }, key: key.isEmpty ? nil : key, value: value,
            message: message)
    }

    func unknown(_ key: Key, _ path: String) -> ConfigError {
        error(key.node, path, nil, "unknown key (see docs/configuration.md for the keys pathwatch reads)")
    }

    func mapping(_ node: YAMLNode, _ key: String) throws(ConfigError) -> [(Key, YAMLNode)] {
        guard case .mapping(let mapping) = node else {
            throw error(node, key, node.scalar?.string, "expected a mapping of keys to values")
        }
        var seen: Set<String> = []
        var result: [(Key, YAMLNode)] = []
        for (k, v) in mapping {
            guard case .scalar(let scalar) = k else { throw error(k, key, nil, "keys must be plain strings") }
            guard seen.insert(scalar.string).inserted else {
                throw error(k, key.isEmpty ? scalar.string : "\(key).\(scalar.string)", nil, "key appears twice")
            }
            result.append((Key(name: scalar.string, node: k), v))
        }
        return result
    }

    func string(_ node: YAMLNode, _ key: String) throws(ConfigError) -> String {
        guard case .scalar(let scalar) = node else { throw error(node, key, nil, "expected a single value") }
        return scalar.string
    }

    func choice<T: RawRepresentable & CaseIterable>(_ node: YAMLNode, _ key: String, _ type: T.Type) throws(ConfigError) -> T
    where T.RawValue == String {
        let text = try string(node, key)
        guard let value = T(rawValue: text) else {
            let options = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw error(node, key, text, "expected one of: \(options)")
        }
        return value
    }

    func bool(_ node: YAMLNode, _ key: String) throws(ConfigError) -> Bool {
        let text = try string(node, key)
        switch text {
        case "true": return true
        case "false": return false
        default: throw error(node, key, text, "expected true or false")
        }
    }

    func integer(_ node: YAMLNode, _ key: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let text = try string(node, key)
        guard let value = Int(text) else { throw error(node, key, text, "expected a whole number") }
        guard range.contains(value) else { throw error(node, key, text, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return value
    }

    func seconds(_ node: YAMLNode, _ key: String, _ range: ClosedRange<Double>) throws(ConfigError) -> Double {
        let text = try string(node, key)
        guard let value = Double(text), value.isFinite else { throw error(node, key, text, "expected a number of seconds") }
        guard range.contains(value) else {
            throw error(node, key, text, "must be between \(range.lowerBound) and \(range.upperBound) seconds")
        }
        return value
    }

    func number(_ node: YAMLNode, _ key: String, _ range: ClosedRange<Double>) throws(ConfigError) -> Double {
        let text = try string(node, key)
        guard let value = Double(text), value.isFinite else { throw error(node, key, text, "expected a number") }
        guard range.contains(value) else { throw error(node, key, text, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return value
    }

    func paths(_ node: YAMLNode) throws(ConfigError) -> AgentConfig.PathSettings {
        var p = AgentConfig.PathSettings()
        for (sub, v) in try mapping(node, "paths") {
            let path = "paths.\(sub.name)"
            switch sub.name {
            case "enabled": p.enabled = try bool(v, path)
            case "sampleIntervalSeconds": p.sampleIntervalSeconds = try seconds(v, path, 0.1...3600)
            case "windowSeconds": p.windowSeconds = try seconds(v, path, 1...86400)
            case "sustainSeconds": p.sustainSeconds = try seconds(v, path, 0...86400)
            case "clearSeconds": p.clearSeconds = try seconds(v, path, 0...86400)
            case "retransmitRatio": p.retransmitRatio = try number(v, path, 0.0001...1)
            case "collapsedCwnd": p.collapsedCwnd = try integer(v, path, 1...1000)
            case "collapsedCwndShare": p.collapsedCwndShare = try number(v, path, 0.01...1)
            case "minBytes": p.minBytes = try integer(v, path, 0...1 << 40)
            case "outOfOrderRatio": p.outOfOrderRatio = try number(v, path, 0.0001...1)
            case "minPeerBytes": p.minPeerBytes = try integer(v, path, 1...1 << 40)
            case "lossyPeerShare": p.lossyPeerShare = try number(v, path, 0.01...1)
            case "minPeers": p.minPeers = try integer(v, path, 2...1_000_000)
            case "peerWeightCapBytes": p.peerWeightCapBytes = try integer(v, path, 1...1 << 40)
            case "peerPrefixLengthIPv4": p.peerPrefixLengthIPv4 = try integer(v, path, 8...32)
            case "peerPrefixLengthIPv6": p.peerPrefixLengthIPv6 = try integer(v, path, 16...128)
            case "maxPeers": p.maxPeers = try integer(v, path, 1...1 << 20)
            case "maxPeerFindings": p.maxPeerFindings = try integer(v, path, 0...100)
            case "worstPeers": p.worstPeers = try integer(v, path, 0...100)
            case "maxTrackedSockets": p.maxTrackedSockets = try integer(v, path, 1...16 << 20)
            case "privateRanges": p.privateRanges = try prefixList(v, path, example: "10.0.0.0/8")
            default: throw unknown(sub, path)
            }
        }
        if p.windowSeconds < p.sampleIntervalSeconds * 2 {
            throw error(node, "paths.windowSeconds", "\(p.windowSeconds)", "must span at least two samples (2 × sampleIntervalSeconds)")
        }
        return p
    }

    /// A YAML list of CIDR prefixes with no host bits set.
    func prefixList(_ node: YAMLNode, _ path: String, example: String) throws(ConfigError) -> [IPPrefix] {
        guard case .sequence(let sequence) = node else {
            throw error(node, path, node.scalar?.string, "expected a list of CIDR prefixes, e.g. [\"\(example)\"]")
        }
        var prefixes: [IPPrefix] = []
        for item in sequence {
            let text = try string(item, path)
            guard let prefix = IPPrefix(text) else {
                throw error(item, path, text, "expected a CIDR prefix with no host bits set, e.g. \(example)")
            }
            prefixes.append(prefix)
        }
        return prefixes
    }

    func subnetRoutes(_ node: YAMLNode) throws(ConfigError) -> [String: [IPPrefix]] {
        var result: [String: [IPPrefix]] = [:]
        for (interface, list) in try mapping(node, "subnetRoutes") {
            let path = "subnetRoutes.\(interface.name)"
            guard (1...15).contains(interface.name.utf8.count), !interface.name.contains("/"), !interface.name.contains(" ") else {
                throw error(interface.node, path, interface.name, "not a valid interface name")
            }
            result[interface.name] = try prefixList(list, path, example: "10.5.2.0/24")
        }
        return result
    }
}
