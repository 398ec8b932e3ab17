/// Builds netlink request messages: a header, a fixed family struct, then attributes.
public struct NetlinkRequest: Sendable {
    public private(set) var bytes: [UInt8]

    /// Starts a message of `type`; `nlmsg_len` is filled in by ``finish(sequence:)``.
    public init(type: UInt16, flags: NetlinkFlags, familyHeader: [UInt8]) {
        bytes = []
        bytes.reserveCapacity(64)
        NetlinkHeader(length: 0, type: type, flags: flags, sequence: 0, portID: 0).encode(into: &bytes)
        bytes += familyHeader
        bytes.alignTo4()
    }

    /// Appends already encoded attributes (``AttributeBuilder``).
    mutating func appendRaw(_ attributeBytes: [UInt8]) {
        bytes += attributeBytes
        bytes.alignTo4()
    }

    mutating func replaceByte(at offset: Int, with value: UInt8) {
        bytes[offset] = value
    }

    /// Whether the kernel will answer with a multi-part dump.
    public var isDump: Bool {
        let flags = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 6, as: UInt16.self) }
        return NetlinkFlags(rawValue: flags).contains(.dump)
    }

    public mutating func addAttribute(_ type: UInt16, _ payload: [UInt8]) {
        var attribute = AttributeBuilder()
        attribute.add(type, payload)
        addAttributes(attribute)
    }

    public mutating func addAttribute<T: FixedWidthInteger>(_ type: UInt16, host value: T) {
        var attribute = AttributeBuilder()
        attribute.add(type, host: value)
        addAttributes(attribute)
    }

    /// The finished message with its length and sequence number set.
    public func finish(sequence: UInt32) -> [UInt8] {
        var out = bytes
        let length = UInt32(out.count)
        out.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: length, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: sequence, toByteOffset: 8, as: UInt32.self)
        }
        return out
    }

    /// A dump of every link (`ip link`), with 64-bit statistics.
    public static func dumpLinks() -> NetlinkRequest {
        NetlinkRequest(type: RtnetlinkMessageType.getLink, flags: [.request, .dump], familyHeader: [UInt8](repeating: 0, count: 16))
    }

    /// A dump of every address of `family` (`ip addr`); `.unspecified` for both families.
    public static func dumpAddresses(family: AddressFamily = .unspecified) -> NetlinkRequest {
        NetlinkRequest(
            type: RtnetlinkMessageType.getAddress, flags: [.request, .dump],
            familyHeader: [family.rawValue] + [UInt8](repeating: 0, count: 7))
    }

    /// A dump of every route of `family` in every table (`ip route show table all`).
    public static func dumpRoutes(family: AddressFamily = .unspecified) -> NetlinkRequest {
        NetlinkRequest(
            type: RtnetlinkMessageType.getRoute, flags: [.request, .dump],
            familyHeader: [family.rawValue] + [UInt8](repeating: 0, count: 11))
    }

    /// A dump of every policy rule of `family` (`ip rule`).
    public static func dumpRules(family: AddressFamily = .unspecified) -> NetlinkRequest {
        NetlinkRequest(
            type: RtnetlinkMessageType.getRule, flags: [.request, .dump], familyHeader: [family.rawValue] + [UInt8](repeating: 0, count: 11)
        )
    }
}
