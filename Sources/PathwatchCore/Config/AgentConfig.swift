import Netlink

/// Everything the operator can set, with defaults that are safe on any node.
///
/// Each key is documented in docs/configuration.md; keep the two in step.
public struct AgentConfig: Sendable, Equatable {
    /// Where the read-only HTTP endpoint listens.
    public var listen = ListenAddress(host: "0.0.0.0", port: 9469)
    public var autofix = AutofixMode.off
    public var logFormat = LogFormat.text
    public var logLevel = LogLevel.info
    /// Per interface: destinations it must reach via its own subnet gateway.
    public var subnetRoutes: [String: [IPPrefix]] = [:]
    public var netlink = NetlinkSettings()
    public var conntrack = ConntrackSettings()
    public var http = HTTPSettings()
    public var paths = PathSettings()

    public init() {}

    public struct NetlinkSettings: Sendable, Equatable {
        /// Kernel receive queue for the route/link/address/rule subscription socket.
        public var receiveBufferBytes = 8 << 20
        public init() {}
    }

    public struct ConntrackSettings: Sendable, Equatable {
        /// Whether to subscribe to conntrack events at all.
        public var enabled = true
        /// Kernel receive queue for the conntrack event socket; bursts of new connections need
        /// room here, or events are lost (counted as overruns and followed by a re-dump).
        public var receiveBufferBytes = 32 << 20
        public init() {}
    }

    public struct HTTPSettings: Sendable, Equatable {
        public var maxConnections = 256
        public var idleTimeoutSeconds = 30.0
        public var maxRequestHeadBytes = 16 * 1024
        public init() {}
    }
}

public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}

public enum LogLevel: String, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// `HOST:PORT`, with IPv6 hosts in brackets (`[::]:9469`).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
            guard IPAddress(host)?.family == .inet6 else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard host.isEmpty || IPAddress(host)?.family == .inet || host == "localhost" else { return nil }
        }
        guard let port = Int(portText), (0...65535).contains(port), portText.allSatisfy(\.isNumber) else { return nil }
        self.host = host.isEmpty ? "0.0.0.0" : String(host)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
