/// One netlink attribute (`struct nlattr`): a type and a borrowed payload.
public struct Attribute {
    /// The type without the `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER` flag bits.
    public let type: UInt16
    public let isNested: Bool
    public let payload: ByteReader
}

/// Iterates the attributes in `reader`, validating every length before use.
///
/// A truncated trailing attribute is an error (the message is damaged); an unknown attribute type
/// is simply yielded, and callers skip what they do not know.
public struct AttributeIterator: IteratorProtocol {
    private let reader: ByteReader
    private var offset = 0
    private let context: String
    public private(set) var error: DecodeError?

    public init(_ reader: ByteReader, context: String) {
        self.reader = reader
        self.context = context
    }

    public mutating func next() -> Attribute? {
        // Fewer than four trailing bytes can only be alignment padding.
        guard error == nil, offset + 4 <= reader.count else { return nil }
        do {
            let length = Int(try reader.u16Host(at: offset, context))
            let rawType = try reader.u16Host(at: offset + 2, context)
            guard length >= 4 else {
                error = DecodeError(context, "attribute length \(length) below header size", offset: reader.baseOffset + offset)
                return nil
            }
            let payload = try reader.slice(offset + 4, length - 4, "\(context) attribute \(rawType & 0x3FFF)")
            offset += (length + 3) & ~3
            return Attribute(type: rawType & 0x3FFF, isNested: rawType & 0x8000 != 0, payload: payload)
        } catch {
            self.error = error
            return nil
        }
    }
}

extension ByteReader {
    /// Calls `body` for every attribute, throwing the first structural error.
    @inline(__always)
    public func forEachAttribute(
        _ context: String,
        _ body: (Attribute) throws(DecodeError) -> Void
    ) throws(DecodeError) {
        var iterator = AttributeIterator(self, context: context)
        while let attribute = iterator.next() {
            try body(attribute)
        }
        if let error = iterator.error { throw error }
    }
}

extension Attribute {
    public func u8(_ context: @autoclosure () -> String) throws(DecodeError) -> UInt8 { try payload.u8(at: 0, context()) }
    public func u16Host(_ context: @autoclosure () -> String) throws(DecodeError) -> UInt16 { try payload.u16Host(at: 0, context()) }
    public func u32Host(_ context: @autoclosure () -> String) throws(DecodeError) -> UInt32 { try payload.u32Host(at: 0, context()) }
    public func u64Host(_ context: @autoclosure () -> String) throws(DecodeError) -> UInt64 { try payload.u64Host(at: 0, context()) }
    public func u16Network(_ context: @autoclosure () -> String) throws(DecodeError) -> UInt16 { try payload.u16Network(at: 0, context()) }
    public func u32Network(_ context: @autoclosure () -> String) throws(DecodeError) -> UInt32 { try payload.u32Network(at: 0, context()) }
    public func u64Network(_ context: @autoclosure () -> String) throws(DecodeError) -> UInt64 { try payload.u64Network(at: 0, context()) }
    public func string() -> String { payload.string() }
}
