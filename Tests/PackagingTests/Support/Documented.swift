/// The metrics the agent serves, as the table in docs/metrics.md lists them (the agent's own
/// tests keep that table and the real exposition in step), plus Prometheus' per-target `up`.
enum Documented {
    static func metricNames() throws -> Set<String> {
        var names: Set<String> = ["up"]
        for line in try Tool.read("docs/metrics.md").split(separator: "\n") where line.hasPrefix("| `pathwatch_") {
            let name = line.dropFirst(3).prefix { $0 != "`" }
            names.insert(String(name))
        }
        return names
    }
}
