import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The HTTP endpoint could not start. Its description is one sentence naming the address.
public struct HTTPServerError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Hashable {
        /// The host is not an IP address (or `localhost`), or the port is out of range.
        case invalidAddress
        /// The socket could not be bound (address in use, not assigned to this node, no permission …).
        case bindFailed
        /// `run()` was called on a server that was already started.
        case alreadyStarted
    }

    public var kind: Kind
    public var host: String
    public var port: Int
    /// Why, in a few words.
    public var reason: String

    public init(kind: Kind, host: String, port: Int, reason: String) {
        self.kind = kind
        self.host = host
        self.port = port
        self.reason = reason
    }

    /// `host:port`, with an IPv6 host in brackets.
    public var address: String {
        self.host.contains(":") ? "[\(self.host)]:\(self.port)" : "\(self.host):\(self.port)"
    }

    public var description: String {
        "Cannot serve HTTP on \(self.address): \(self.reason)."
    }

    static func bindFailed(host: String, port: Int, error: any Error) -> HTTPServerError {
        let reason: String
        if let error = error as? IOError {
            switch error.errnoCode {
            case EADDRINUSE: reason = "the address is already in use"
            case EADDRNOTAVAIL: reason = "the address is not assigned to any interface of this node"
            case EACCES, EPERM: reason = "permission denied"
            case EAFNOSUPPORT: reason = "the address family is not supported on this node"
            default: reason = "\(error)"
            }
        } else {
            reason = "\(error)"
        }
        return HTTPServerError(kind: .bindFailed, host: host, port: port, reason: reason)
    }
}
