import Glibc
import PathwatchCore
import Testing

@Suite("Read-only segments of the executable")
struct ReadOnlySegmentsTests {
    typealias Segment = ReadOnlySegments.LoadSegment

    @Test func onlyReadOnlySegmentsShrunkToWholePages() {
        let segments = [
            Segment(address: 0x1000, size: 0x5000, writable: false),  // headers, .rodata
            Segment(address: 0x6340, size: 0x13f_8650, writable: false),  // .text, starts mid-page
            Segment(address: 0x14_0000, size: 0x3000, writable: true),  // RELRO and .data
        ]
        #expect(ReadOnlySegments.ranges(of: segments, pageSize: 4096) == [0x1000..<0x6000, 0x7000..<0x13f_e000])
    }

    @Test func aSegmentWithinOnePageOrWrappingGivesNothing() {
        #expect(ReadOnlySegments.ranges(of: [Segment(address: 0x1100, size: 0x800, writable: false)], pageSize: 4096).isEmpty)
        #expect(ReadOnlySegments.ranges(of: [Segment(address: UInt.max - 10, size: 100, writable: false)], pageSize: 4096).isEmpty)
        #expect(ReadOnlySegments.ranges(of: [Segment(address: 0x1000, size: 0, writable: false)], pageSize: 4096).isEmpty)
    }

    /// Two PT_LOADs and the PT_PHDR entry, as a PIE loaded at 0x5555_5555_4000 has them.
    @Test func programHeadersDecodeWithTheLoadBias() {
        func header(type: UInt32, flags: UInt32, vaddr: UInt64, memsz: UInt64) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: 56)
            func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
                for i in 0..<(T.bitWidth / 8) { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
            }
            put(type, at: 0)
            put(flags, at: 4)
            put(vaddr, at: 16)
            put(memsz, at: 40)
            return bytes
        }
        let bias: UInt = 0x5555_5555_4000
        let bytes =
            header(type: 6, flags: 4, vaddr: 0x40, memsz: 0xa8) + header(type: 1, flags: 5, vaddr: 0x1000, memsz: 0x2000)
            + header(type: 1, flags: 6, vaddr: 0x4000, memsz: 0x100)
        let segments = ReadOnlySegments.loadSegments(programHeaders: bytes, entrySize: 56, headersAddress: bias + 0x40)
        #expect(
            segments == [
                Segment(address: bias + 0x1000, size: 0x2000, writable: false),
                Segment(address: bias + 0x4000, size: 0x100, writable: true),
            ])
        #expect(
            ReadOnlySegments.loadSegments(programHeaders: Array(bytes.dropFirst(56)), entrySize: 56, headersAddress: bias).isEmpty,
            "no PT_PHDR: no guess")
        #expect(ReadOnlySegments.loadSegments(programHeaders: bytes, entrySize: 32, headersAddress: bias).isEmpty)
    }

    @Test func auxiliaryVectorNamesTheProgramHeaders() {
        func pair(_ type: UInt64, _ value: UInt64) -> [UInt8] {
            (0..<8).map { UInt8(truncatingIfNeeded: type >> (8 * $0)) } + (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
        }
        let vector = pair(33, 0x7fff_0000) + pair(3, 0x5555_5555_4040) + pair(4, 56) + pair(5, 13) + pair(0, 0)
        let headers = ReadOnlySegments.programHeaders(auxiliaryVector: vector)
        #expect(headers?.address == 0x5555_5555_4040 && headers?.entrySize == 56 && headers?.count == 13)
        #expect(ReadOnlySegments.programHeaders(auxiliaryVector: Array(vector.prefix(20))) == nil, "cut short")
        #expect(ReadOnlySegments.programHeaders(auxiliaryVector: pair(3, 0x1000) + pair(4, 8) + pair(5, 3)) == nil, "not Elf64_Phdr")
        #expect(ReadOnlySegments.programHeaders(auxiliaryVector: [1, 2, 3]) == nil)
    }

    /// This test process's own headers, read as the agent reads them: the executable has code.
    @Test func thisProcessHasReadOnlySegments() throws {
        let fd = open("/proc/self/auxv", O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        var auxv = [UInt8](repeating: 0, count: 4096)
        let count = auxv.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        let headers = try #require(ReadOnlySegments.programHeaders(auxiliaryVector: Array(auxv.prefix(max(0, count)))))
        let start = try #require(UnsafeRawPointer(bitPattern: headers.address))
        let bytes = Array(UnsafeRawBufferPointer(start: start, count: headers.count * headers.entrySize))
        let segments = ReadOnlySegments.loadSegments(programHeaders: bytes, entrySize: headers.entrySize, headersAddress: headers.address)
        #expect(segments.contains { !$0.writable } && segments.contains { $0.writable })
        #expect(!ReadOnlySegments.ranges(of: segments, pageSize: 4096).isEmpty)
    }
}
