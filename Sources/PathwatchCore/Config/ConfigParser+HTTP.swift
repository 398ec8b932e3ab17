extension Reader {
    /// `http:`: the endpoint's limits and who may read `/state`.
    func http(_ node: YAMLNode) throws(ConfigError) -> AgentConfig.HTTPSettings {
        var h = AgentConfig.HTTPSettings()
        for (sub, v) in try mapping(node, "http") {
            let path = "http.\(sub.name)"
            switch sub.name {
            case "maxConnections": h.maxConnections = try integer(v, path, 1...65536)
            case "idleTimeoutSeconds": h.idleTimeoutSeconds = try seconds(v, path, 1...3600)
            case "maxRequestHeadBytes": h.maxRequestHeadBytes = try integer(v, path, 1024...1 << 20)
            case "requestHeadTimeoutSeconds": h.requestHeadTimeoutSeconds = try seconds(v, path, 1...3600)
            case "writeTimeoutSeconds": h.writeTimeoutSeconds = try seconds(v, path, 1...3600)
            case "loopbackReserve": h.loopbackReserve = try integer(v, path, 0...64)
            case "stateFrom": h.stateFrom = try choice(v, path, StateAccess.self)
            case "webConfig":
                let file = try string(v, path)
                guard !file.isEmpty else { throw error(v, path, file, "expected the path of an exporter-toolkit web configuration file") }
                h.webConfig = file
            default: throw unknown(sub, path)
            }
        }
        return h
    }
}
