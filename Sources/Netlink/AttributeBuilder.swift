/// Builds a run of netlink attributes, nests included, for requests whose attributes contain
/// attributes (nf_tables expressions, ctnetlink tuples and filters).
public struct AttributeBuilder: Sendable {
    public private(set) var bytes: [UInt8] = []

    /// `NLA_F_NESTED`: marks an attribute whose payload is more attributes. Strict kernel
    /// parsers refuse a nest without it.
    static let nestedFlag: UInt16 = 0x8000

    public init() {}

    public mutating func add(_ type: UInt16, _ payload: [UInt8]) {
        bytes.appendHost(UInt16(4 + payload.count))
        bytes.appendHost(type)
        bytes += payload
        bytes.alignTo4()
    }

    /// A NUL-terminated string, as `NLA_NUL_STRING` and `NLA_STRING` policies accept.
    public mutating func add(_ type: UInt16, string: String) {
        add(type, Array(string.utf8) + [0])
    }

    /// An integer in network byte order: most nf_tables and ctnetlink numbers.
    public mutating func add<T: FixedWidthInteger>(_ type: UInt16, network value: T) {
        var payload: [UInt8] = []
        payload.appendNetwork(value)
        add(type, payload)
    }

    /// An integer in host byte order.
    public mutating func add<T: FixedWidthInteger>(_ type: UInt16, host value: T) {
        var payload: [UInt8] = []
        payload.appendHost(value)
        add(type, payload)
    }

    public mutating func addNested(_ type: UInt16, _ build: (inout AttributeBuilder) -> Void) {
        var inner = AttributeBuilder()
        build(&inner)
        add(type | Self.nestedFlag, inner.bytes)
    }
}

extension NetlinkRequest {
    public mutating func addAttributes(_ attributes: AttributeBuilder) {
        appendRaw(attributes.bytes)
    }
}
