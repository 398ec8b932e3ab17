/// A configuration the agent refuses, saying where and why.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// Dotted key path, e.g. `conntrack.receiveBufferBytes`.
    public var key: String?
    public var value: String?
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, key: String? = nil, value: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.value = value
        self.message = message
    }

    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        var text = "\(location): "
        if let key { text += "key '\(key)'" }
        if let value { text += (key == nil ? "" : " ") + "value '\(value)'" }
        if key != nil || value != nil { text += ": " }
        return text + message
    }
}
