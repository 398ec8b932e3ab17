import PathwatchCore

/// Parsing helpers shared by the config test suites.
protocol ConfigParsing {}

extension ConfigParsing {
    func parse(_ text: String) throws(ConfigError) -> AgentConfig { try ConfigParser.parse(text, file: "test.yaml") }

    /// The error a configuration is refused with, or nil when it is accepted.
    func refusal(_ text: String) -> ConfigError? {
        do {
            _ = try parse(text)
            return nil
        } catch { return error }
    }
}
