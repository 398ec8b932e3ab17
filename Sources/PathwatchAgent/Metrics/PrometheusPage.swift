/// The Prometheus text exposition format for every family read at scrape time (the only writer
/// beside the client library's registry), written the way that library writes its own
/// (integer counters, `Double` gauges), so a family moved out of the registry reads the same.
public struct PrometheusPage {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public typealias Labels = [(String, String)]

    /// A sample's value, rendered as the client library renders it.
    public enum Value {
        case gauge(Double)
        case count(UInt64)
        /// A counter of seconds: `0` while nothing was counted, as an integral counter reads.
        case seconds(Double)

        var text: String {
            switch self {
            case .gauge(let v): "\(v)"
            case .count(let v): "\(Int64(clamping: v))"
            case .seconds(let v): v == 0 ? "0" : "\(v)"
            }
        }
    }

    public enum Kind: String {
        case gauge
        case counter
    }

    /// `# HELP` and `# TYPE`, then one line per sample; nothing is written when `samples` is
    /// empty, as the client library writes nothing for a family with no series.
    public mutating func family(_ name: String, _ kind: Kind, help: String, _ samples: [(labels: Labels, value: Value)]) {
        guard !samples.isEmpty else { return }
        var text = "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
        for (labels, value) in samples {
            text += name
            if !labels.isEmpty {
                text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
            }
            text += " \(value.text)\n"
        }
        bytes.append(contentsOf: Array(text.utf8))
    }

    /// A family with one unlabelled sample.
    public mutating func family(_ name: String, _ kind: Kind, help: String, _ value: Value) {
        family(name, kind, help: help, [([], value)])
    }

    public mutating func counter(_ name: String, help: String, samples: [(labels: Labels, value: UInt64)]) {
        family(name, .counter, help: help, samples.map { ($0.labels, .count($0.value)) })
    }

    public mutating func counter(_ name: String, help: String, value: UInt64) {
        family(name, .counter, help: help, .count(value))
    }

    public mutating func gauge(_ name: String, help: String, samples: [(labels: Labels, value: Double)]) {
        family(name, .gauge, help: help, samples.map { ($0.labels, .gauge($0.value)) })
    }

    public mutating func gauge(_ name: String, help: String, value: Double) {
        family(name, .gauge, help: help, .gauge(value))
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
