import FoundationEssentials
import Logging
import PathwatchCore
import Synchronization

/// The level and format in force, shared by every logger so SIGHUP can change them.
public final class LogSettings: Sendable {
    private let state: Mutex<(level: Logger.Level, format: LogFormat)>

    public init(level: LogLevel, format: LogFormat) {
        state = Mutex((Logger.Level(level), format))
    }

    public var level: Logger.Level { state.withLock { $0.level } }
    public var format: LogFormat { state.withLock { $0.format } }

    public func update(level: LogLevel, format: LogFormat) {
        state.withLock { $0 = (Logger.Level(level), format) }
    }
}

extension Logger.Level {
    init(_ level: LogLevel) {
        self = Logger.Level(rawValue: level.rawValue) ?? .info
    }
}

/// Structured log lines on standard error: either `key=value` text or one JSON object per line
/// (`{"ts":…,"level":…,"logger":…,"msg":…, metadata…}`) for journald or a log shipper.
public struct AgentLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let settings: LogSettings

    public init(label: String, settings: LogSettings) {
        self.label = label
        self.settings = settings
    }

    public var logLevel: Logger.Level {
        get { settings.level }
        set {}  // The level is agent-wide and changes only through the configuration.
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (k, v) in metadata { fields[k] = "\(v)" }
        if let extra = event.metadata { for (k, v) in extra { fields[k] = "\(v)" } }
        let line: String
        switch settings.format {
        case .json: line = Self.jsonLine(label: label, level: event.level, message: "\(event.message)", fields: fields)
        case .text: line = Self.textLine(label: label, level: event.level, message: "\(event.message)", fields: fields)
        }
        StandardError.write(line)
    }

    static func jsonLine(label: String, level: Logger.Level, message: String, fields: [String: String]) -> String {
        var line = "{\"ts\":\(quote(timestamp())),\"level\":\(quote(level.rawValue)),\"logger\":\(quote(label)),\"msg\":\(quote(message))"
        for key in fields.keys.sorted() where !["ts", "level", "logger", "msg"].contains(key) {
            line += ",\(quote(key)):\(quote(fields[key]!))"
        }
        return line + "}\n"
    }

    static func textLine(label: String, level: Logger.Level, message: String, fields: [String: String]) -> String {
        var line = "\(timestamp()) \(level.rawValue) \(LogEscaping.escapeNonPrintable(label)): \(LogEscaping.escapeNonPrintable(message))"
        for key in fields.keys.sorted() {
            line += " \(LogEscaping.escapeNonPrintable(key))=" + LogEscaping.textValue(fields[key]!)
        }
        return line + "\n"
    }

    static func timestamp() -> String {
        Date.now.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    static func quote(_ text: String) -> String {
        LogEscaping.quote(text)
    }
}
