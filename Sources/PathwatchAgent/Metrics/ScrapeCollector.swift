/// A slice's metrics, written from its own state when `/metrics` is served (node_exporter's
/// `Update(ch)`): nothing mirrors the state into a registry between scrapes.
public protocol ScrapeCollector: Sendable {
    func collect(into page: inout PrometheusPage)
}

/// The Prometheus text exposition format, written the way the client library writes it
/// (integer counters, `Double` gauges), so collected and registered series read alike.
public struct PrometheusPage {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public typealias Labels = [(String, String)]

    /// A counter family; nothing is written when `samples` is empty, as the client library
    /// writes nothing for a family with no series.
    public mutating func counter(_ name: String, help: String, samples: [(labels: Labels, value: UInt64)]) {
        write(name, "counter", help, samples.map { ($0.labels, "\(Int64(clamping: $0.value))") })
    }

    public mutating func counter(_ name: String, help: String, value: UInt64) {
        counter(name, help: help, samples: [([], value)])
    }

    public mutating func gauge(_ name: String, help: String, samples: [(labels: Labels, value: Double)]) {
        write(name, "gauge", help, samples.map { ($0.labels, "\($0.value)") })
    }

    public mutating func gauge(_ name: String, help: String, value: Double) {
        gauge(name, help: help, samples: [([], value)])
    }

    private mutating func write(_ name: String, _ type: String, _ help: String, _ samples: [(Labels, String)]) {
        guard !samples.isEmpty else { return }
        var text = "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type)\n"
        for (labels, value) in samples {
            text += name
            if !labels.isEmpty {
                text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
            }
            text += " \(value)\n"
        }
        bytes.append(contentsOf: Array(text.utf8))
    }

    static func escapeHelp(_ text: String) -> String {
        text.replacingAll("\\", with: "\\\\").replacingAll("\n", with: "\\n")
    }

    static func escapeLabel(_ text: String) -> String {
        escapeHelp(text).replacingAll("\"", with: "\\\"")
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        guard contains(target) else { return self }
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}
