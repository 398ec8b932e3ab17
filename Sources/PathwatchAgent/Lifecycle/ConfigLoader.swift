import PathwatchCore

/// Command-line settings that win over the config file, on start-up and on every reload.
public struct ConfigOverrides: Sendable {
    public var listen: ListenAddress?
    public var autofix: AutofixMode?
    public var logFormat: LogFormat?
    public var logLevel: LogLevel?
    public var controlSocket: String?
    public var webConfig: String?

    public init(
        listen: ListenAddress? = nil, autofix: AutofixMode? = nil, logFormat: LogFormat? = nil, logLevel: LogLevel? = nil,
        controlSocket: String? = nil, webConfig: String? = nil
    ) {
        self.webConfig = webConfig
        self.listen = listen
        self.autofix = autofix
        self.logFormat = logFormat
        self.logLevel = logLevel
        self.controlSocket = controlSocket
    }

    func apply(to config: inout AgentConfig) {
        if let listen { config.listen = listen }
        if let autofix { config.autofix = autofix }
        if let logFormat { config.logFormat = logFormat }
        if let logLevel { config.logLevel = logLevel }
        if let controlSocket { config.controlSocket = controlSocket }
        if let webConfig { config.http.webConfig = webConfig }
    }
}

/// Reads the config file (if any) and applies the overrides.
public struct ConfigLoader: Sendable {
    public let path: String?
    public let overrides: ConfigOverrides

    public init(path: String?, overrides: ConfigOverrides) {
        self.path = path
        self.overrides = overrides
    }

    public func load() throws(ConfigError) -> AgentConfig {
        var config = AgentConfig()
        if let path {
            let text: String
            do {
                text = try TextFile.read(path)
            } catch {
                throw ConfigError(file: path, message: "cannot read the file: \(error)")
            }
            config = try ConfigParser.parse(text, file: path)
        }
        overrides.apply(to: &config)
        return config
    }
}
