/// An IPv4 or IPv6 address, stored by value without Foundation.
///
/// Kernel attributes carry addresses in network byte order; `init(networkBytes:)` takes them as
/// they are on the wire.
public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The address as a host-order integer (`10.0.0.1` is `0x0A000001`).
    case v4(UInt32)
    /// High and low 64 bits, host order.
    case v6(UInt64, UInt64)

    public var family: AddressFamily { if case .v4 = self { .inet } else { .inet6 } }
    public var bitWidth: Int { if case .v4 = self { 32 } else { 128 } }

    /// Decodes 4 or 16 network-order bytes; other lengths are an error.
    public init(networkBytes reader: ByteReader, _ context: @autoclosure () -> String) throws(DecodeError) {
        switch reader.count {
        case 4: self = .v4(try reader.u32Network(at: 0, context()))
        case 16: self = .v6(try reader.u64Network(at: 0, context()), try reader.u64Network(at: 8, context()))
        default: throw DecodeError(context(), "address of \(reader.count) bytes", offset: reader.baseOffset)
        }
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with `::` compression and an IPv4 tail).
    public init?(_ text: some StringProtocol) {
        if text.contains(":") {
            guard let v6 = Self.parseV6(Substring(text)) else { return nil }
            self = v6
        } else {
            guard let v4 = Self.parseV4(Substring(text)) else { return nil }
            self = .v4(v4)
        }
    }

    private static func parseV4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                let octet = UInt32(part), octet <= 255
            else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    private static func splitOnDoubleColon(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var previous: Character?
        for c in text {
            if c == ":", previous == ":" {
                current.removeLast()
                parts.append(current)
                current = ""
                previous = nil
                continue
            }
            current.append(c)
            previous = c
        }
        parts.append(current)
        return parts
    }

    private static func parseV6(_ text: Substring) -> IPAddress? {
        var groups: [UInt16] = []
        var tailStart: Int?
        let halves = splitOnDoubleColon(String(text))
        guard halves.count <= 2 else { return nil }
        func parseGroups(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, piece) in pieces.enumerated() {
                if i == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseV4(piece) else { return nil }
                    result.append(UInt16(v4 >> 16))
                    result.append(UInt16(v4 & 0xFFFF))
                } else {
                    guard (1...4).contains(piece.count), let g = UInt16(piece, radix: 16) else { return nil }
                    result.append(g)
                }
            }
            return result
        }
        guard let head = parseGroups(halves[0]) else { return nil }
        if halves.count == 2 {
            guard let tail = parseGroups(halves[1]), head.count + tail.count <= 7 else { return nil }
            groups = head
            tailStart = 8 - tail.count
            groups += Array(repeating: 0, count: tailStart! - head.count) + tail
        } else {
            guard head.count == 8 else { return nil }
            groups = head
        }
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(groups[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(groups[i]) }
        return .v6(hi, lo)
    }

    public var description: String {
        switch self {
        case .v4(let v):
            return "\(v >> 24).\(v >> 16 & 0xFF).\(v >> 8 & 0xFF).\(v & 0xFF)"
        case .v6(let hi, let lo):
            var groups: [UInt16] = []
            for i in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(truncatingIfNeeded: hi >> UInt64(i))) }
            for i in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(truncatingIfNeeded: lo >> UInt64(i))) }
            // RFC 5952: compress the longest run (of two or more) of zero groups.
            var bestStart = -1
            var bestLength = 1
            var i = 0
            while i < 8 {
                if groups[i] == 0 {
                    var j = i
                    while j < 8, groups[j] == 0 { j += 1 }
                    if j - i > bestLength {
                        bestStart = i
                        bestLength = j - i
                    }
                    i = j
                } else {
                    i += 1
                }
            }
            func hex(_ range: Range<Int>) -> String {
                groups[range].map { String($0, radix: 16) }.joined(separator: ":")
            }
            if bestStart < 0 { return hex(0..<8) }
            return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
        }
    }

    /// Network-order bytes, as netlink attributes want them.
    public var networkBytes: [UInt8] {
        switch self {
        case .v4(let v): return withUnsafeBytes(of: v.bigEndian) { Array($0) }
        case .v6(let hi, let lo):
            return withUnsafeBytes(of: hi.bigEndian) { Array($0) } + withUnsafeBytes(of: lo.bigEndian) { Array($0) }
        }
    }

    /// The address with all bits past `length` cleared.
    public func masked(to length: Int) -> IPAddress {
        switch self {
        case .v4(let v):
            let l = max(0, min(32, length))
            return .v4(l == 0 ? 0 : v & ~UInt32(0) << UInt32(32 - l))
        case .v6(let hi, let lo):
            let l = max(0, min(128, length))
            let hiMask: UInt64 = l >= 64 ? ~0 : (l == 0 ? 0 : ~UInt64(0) << UInt64(64 - l))
            let loMask: UInt64 = l <= 64 ? 0 : (l == 128 ? ~0 : ~UInt64(0) << UInt64(128 - l))
            return .v6(hi & hiMask, lo & loMask)
        }
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): return x < y
        case (.v6(let xh, let xl), .v6(let yh, let yl)): return (xh, xl) < (yh, yl)
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        }
    }
}

/// An address with a prefix length, e.g. `10.4.2.0/24`.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    public var address: IPAddress
    public var length: Int

    public init(address: IPAddress, length: Int) {
        self.address = address
        self.length = length
    }

    /// Parses `ADDRESS/LEN` (a bare address is a host prefix). Host bits must be zero unless
    /// `allowHostBits` is set, so that `10.4.2.7/24` in a config is caught as a likely typo.
    public init?(_ text: some StringProtocol, allowHostBits: Bool = false) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(parts[0]) else { return nil }
        let length: Int
        if parts.count == 2 {
            guard let l = Int(parts[1]), l >= 0, l <= address.bitWidth, parts[1].allSatisfy(\.isNumber) else { return nil }
            length = l
        } else {
            length = address.bitWidth
        }
        if !allowHostBits, address.masked(to: length) != address { return nil }
        self.init(address: address, length: length)
    }

    public func contains(_ other: IPAddress) -> Bool {
        other.family == address.family && other.masked(to: length) == address.masked(to: length)
    }

    public var description: String { "\(address)/\(length)" }
}

/// Address family as the kernel numbers it.
public struct AddressFamily: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The corresponding C constant is `AF_UNSPEC`.
    public static let unspecified = AddressFamily(rawValue: 0)
    /// The corresponding C constant is `AF_INET`.
    public static let inet = AddressFamily(rawValue: 2)
    /// The corresponding C constant is `AF_INET6`.
    public static let inet6 = AddressFamily(rawValue: 10)
    /// The corresponding C constant is `RTNL_FAMILY_IPMR` / `AF_BRIDGE` and others are kept raw.
    public var description: String {
        switch self {
        case .inet: "ipv4"
        case .inet6: "ipv6"
        case .unspecified: "unspec"
        default: "af\(rawValue)"
        }
    }
}
