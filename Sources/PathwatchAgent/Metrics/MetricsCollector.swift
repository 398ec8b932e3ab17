/// A slice's metrics, written from the slice's own state at scrape time (node_exporter's
/// `Collector.Update(ch)`): no series mirrored ahead of time, nothing to keep in step.
public protocol MetricsCollector: Sendable {
    /// Appends Prometheus text exposition lines (`# HELP`, `# TYPE`, samples) to `buffer`.
    func collect(into buffer: inout [UInt8])
}

/// Builds exposition text for ``MetricsCollector``s, with label values escaped as the format
/// requires (`\`, `"` and newline).
struct ExpositionWriter {
    private(set) var text = ""

    mutating func family(_ name: String, type: String, help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    /// Counter samples are integers, gauge samples doubles, as the client library prints them.
    mutating func sample(_ name: String, _ labels: [(String, String)], counter value: Int) {
        text += "\(name)\(Self.render(labels)) \(value)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], gauge value: Double) {
        text += "\(name)\(Self.render(labels)) \(value)\n"
    }

    static func render(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        return "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}
