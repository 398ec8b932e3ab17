/// Prometheus text exposition of metric families rendered at scrape time from a slice's own
/// state (node_exporter's const metrics), beside the client library's registry.
///
/// Values are written the way the registry writes its own (`1.0` for a gauge, `250` for an
/// integral counter), so a family moved from the registry to a collector reads the same.
struct ExpositionText {
    private(set) var bytes: [UInt8] = []

    enum Kind: String {
        case gauge
        case counter
    }

    /// `# HELP` and `# TYPE`, then one line per sample; a family without samples writes nothing.
    mutating func family(_ name: String, _ kind: Kind, help: String, _ samples: [(labels: [(String, String)], value: Value)]) {
        guard !samples.isEmpty else { return }
        append("# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n")
        for sample in samples {
            append(name)
            if !sample.labels.isEmpty {
                append("{")
                append(sample.labels.map { "\($0.0)=\"\(Self.escaped($0.1))\"" }.joined(separator: ","))
                append("}")
            }
            append(" \(sample.value.text)\n")
        }
    }

    /// A family with one unlabelled sample.
    mutating func family(_ name: String, _ kind: Kind, help: String, _ value: Value) {
        family(name, kind, help: help, [([], value)])
    }

    enum Value {
        case gauge(Double)
        case count(UInt64)
        case seconds(Double)

        var text: String {
            switch self {
            case .gauge(let v): "\(v)"
            case .count(let v): "\(v)"
            case .seconds(let v): v == 0 ? "0" : "\(v)"
            }
        }
    }

    private mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// Label values as the text format wants them: backslash, quote and newline escaped.
    static func escaped(_ value: String) -> String {
        var result = ""
        for character in value {
            switch character {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default: result.append(character)
            }
        }
        return result
    }
}
