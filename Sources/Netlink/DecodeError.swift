/// Why a netlink message could not be decoded.
///
/// Decoders never trap on kernel or fixture bytes: every bounds or length problem becomes one of
/// these, naming what was being read and where, so a bad message costs a log line, not hours.
public struct DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was being decoded, e.g. `"RTM_NEWROUTE"` or `"CTA_TUPLE_ORIG"`.
    public var context: String
    /// What was wrong with it.
    public var reason: String
    /// Byte offset of the problem inside the message, when known.
    public var offset: Int?

    public init(_ context: String, _ reason: String, offset: Int? = nil) {
        self.context = context
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        if let offset { return "\(context): \(reason) at offset \(offset)" }
        return "\(context): \(reason)"
    }
}
