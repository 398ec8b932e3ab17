/// The TCP tracking state of a flow (`CTA_PROTOINFO_TCP_STATE`, `enum tcp_conntrack`).
public struct TCPConntrackState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// The corresponding C constant is `TCP_CONNTRACK_NONE`.
    public static let none = TCPConntrackState(rawValue: 0)
    /// The corresponding C constant is `TCP_CONNTRACK_SYN_SENT`.
    public static let synSent = TCPConntrackState(rawValue: 1)
    /// The corresponding C constant is `TCP_CONNTRACK_SYN_RECV`.
    public static let synReceived = TCPConntrackState(rawValue: 2)
    /// The corresponding C constant is `TCP_CONNTRACK_ESTABLISHED`.
    public static let established = TCPConntrackState(rawValue: 3)
    /// The corresponding C constant is `TCP_CONNTRACK_FIN_WAIT`.
    public static let finWait = TCPConntrackState(rawValue: 4)
    /// The corresponding C constant is `TCP_CONNTRACK_CLOSE_WAIT`.
    public static let closeWait = TCPConntrackState(rawValue: 5)
    /// The corresponding C constant is `TCP_CONNTRACK_LAST_ACK`.
    public static let lastAck = TCPConntrackState(rawValue: 6)
    /// The corresponding C constant is `TCP_CONNTRACK_TIME_WAIT`.
    public static let timeWait = TCPConntrackState(rawValue: 7)
    /// The corresponding C constant is `TCP_CONNTRACK_CLOSE`.
    public static let close = TCPConntrackState(rawValue: 8)
    /// Simultaneous open. The corresponding C constant is `TCP_CONNTRACK_SYN_SENT2`
    /// (formerly `TCP_CONNTRACK_LISTEN`).
    public static let synSent2 = TCPConntrackState(rawValue: 9)

    /// The name `conntrack -L` prints, e.g. `"SYN_SENT"`.
    public var name: String {
        switch rawValue {
        case 0: "NONE"
        case 1: "SYN_SENT"
        case 2: "SYN_RECV"
        case 3: "ESTABLISHED"
        case 4: "FIN_WAIT"
        case 5: "CLOSE_WAIT"
        case 6: "LAST_ACK"
        case 7: "TIME_WAIT"
        case 8: "CLOSE"
        case 9: "SYN_SENT2"
        default: "UNKNOWN(\(rawValue))"
        }
    }

    public var description: String { name }
}
