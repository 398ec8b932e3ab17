/// Bounds-checked reads from a borrowed byte buffer.
///
/// Netlink headers are in the host's byte order; addresses and ports inside attributes are in
/// network order. Each read names its order so the decoders state it at every use.
/// The buffer is borrowed: a `ByteReader` must not outlive the closure that lent the bytes.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    /// Offset of `bytes` inside the enclosing message, for error reports.
    public let baseOffset: Int

    public init(_ bytes: UnsafeRawBufferPointer, baseOffset: Int = 0) {
        self.bytes = bytes
        self.baseOffset = baseOffset
    }

    public var count: Int { bytes.count }

    @inline(__always)
    func check(_ offset: Int, _ size: Int, _ context: @autoclosure () -> String) throws(DecodeError) {
        guard offset >= 0, size >= 0, offset <= bytes.count - size else {
            throw DecodeError(context(), "needs \(size) bytes, has \(max(0, bytes.count - offset))", offset: baseOffset + offset)
        }
    }

    @inline(__always)
    public func u8(at offset: Int, _ context: @autoclosure () -> String) throws(DecodeError) -> UInt8 {
        try check(offset, 1, context())
        return bytes[offset]
    }

    @inline(__always)
    public func u16Host(at offset: Int, _ context: @autoclosure () -> String) throws(DecodeError) -> UInt16 {
        try check(offset, 2, context())
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
    }

    @inline(__always)
    public func u32Host(at offset: Int, _ context: @autoclosure () -> String) throws(DecodeError) -> UInt32 {
        try check(offset, 4, context())
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    }

    @inline(__always)
    public func u64Host(at offset: Int, _ context: @autoclosure () -> String) throws(DecodeError) -> UInt64 {
        try check(offset, 8, context())
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
    }

    @inline(__always)
    public func i32Host(at offset: Int, _ context: @autoclosure () -> String) throws(DecodeError) -> Int32 {
        Int32(bitPattern: try u32Host(at: offset, context()))
    }

    @inline(__always)
    public func u16Network(at offset: Int, _ context: @autoclosure () -> String) throws(DecodeError) -> UInt16 {
        UInt16(bigEndian: try u16Host(at: offset, context()))
    }

    @inline(__always)
    public func u32Network(at offset: Int, _ context: @autoclosure () -> String) throws(DecodeError) -> UInt32 {
        UInt32(bigEndian: try u32Host(at: offset, context()))
    }

    @inline(__always)
    public func u64Network(at offset: Int, _ context: @autoclosure () -> String) throws(DecodeError) -> UInt64 {
        UInt64(bigEndian: try u64Host(at: offset, context()))
    }

    /// A sub-range, still borrowed from the same buffer.
    public func slice(_ offset: Int, _ length: Int, _ context: @autoclosure () -> String) throws(DecodeError) -> ByteReader {
        try check(offset, length, context())
        return ByteReader(
            UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)]),
            baseOffset: baseOffset + offset
        )
    }

    /// A NUL-terminated (or unterminated) string, as the kernel sends interface names.
    public func string() -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
    }

    public func array() -> [UInt8] { Array(bytes) }
}
