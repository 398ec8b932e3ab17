/// The parts of the agent's own executable that hold only code and constants read from the
/// file: what it can hand back to the kernel once start-up is over.
///
/// An agent touches most of its start-up code once (argument parsing, the configuration, the
/// first dumps, the endpoint's first requests) and never again, yet those pages stay mapped and
/// count in its resident memory on every node. Telling the kernel it may page them out costs
/// nothing to correctness: they are clean file pages, and a function that runs again is faulted
/// back in from the file. Writable segments (`.data`, and the `RELRO` part whose pointers the
/// dynamic loader relocated) are private copies and are never included.
public enum ReadOnlySegments {
    /// One `PT_LOAD` program header of the running executable.
    public struct LoadSegment: Equatable, Sendable {
        /// Where the segment starts in memory (load bias plus `p_vaddr`).
        public var address: UInt
        /// `p_memsz`.
        public var size: UInt
        /// `PF_W` is set.
        public var writable: Bool

        public init(address: UInt, size: UInt, writable: Bool) {
            self.address = address
            self.size = size
            self.writable = writable
        }
    }

    /// Where the kernel put the executable's program headers, from the auxiliary vector
    /// (`/proc/self/auxv`: 64-bit type/value pairs up to `AT_NULL`): `AT_PHDR`, `AT_PHENT`,
    /// `AT_PHNUM`. Nil when one is missing or the vector is cut short.
    public static func programHeaders(auxiliaryVector bytes: [UInt8]) -> (address: UInt, entrySize: Int, count: Int)? {
        var values: [UInt64: UInt64] = [:]
        var offset = 0
        while offset + 16 <= bytes.count {
            let type = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
            let value = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + 8 + $1]) << (8 * $1) }
            if type == 0 { break }  // AT_NULL
            values[type] = value
            offset += 16
        }
        guard let address = values[3], let entrySize = values[4], let count = values[5],  // AT_PHDR, AT_PHENT, AT_PHNUM
            address != 0, (56...256).contains(entrySize), (1...256).contains(count)
        else { return nil }
        return (UInt(truncatingIfNeeded: address), Int(entrySize), Int(count))
    }

    /// The `PT_LOAD` segments described by the executable's program headers as the kernel
    /// mapped them (`getauxval(AT_PHDR)`, `AT_PHNUM` entries of `AT_PHENT` bytes, 64-bit ELF,
    /// host byte order). The load bias comes from the `PT_PHDR` entry (the headers' own
    /// address); without one, or with an entry size that is not Elf64_Phdr's, nothing is
    /// returned rather than a guess.
    public static func loadSegments(programHeaders bytes: [UInt8], entrySize: Int, headersAddress: UInt) -> [LoadSegment] {
        guard entrySize >= 56, bytes.count >= entrySize else { return [] }
        func word(_ entry: Int, _ offset: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 | UInt32(bytes[entry * entrySize + offset + $1]) << (8 * $1) }
        }
        func quad(_ entry: Int, _ offset: Int) -> UInt64 {
            (0..<8).reduce(0) { $0 | UInt64(bytes[entry * entrySize + offset + $1]) << (8 * $1) }
        }
        let entries = 0..<(bytes.count / entrySize)
        guard let phdr = entries.first(where: { word($0, 0) == 6 }) else { return [] }  // PT_PHDR
        let bias = headersAddress &- UInt(truncatingIfNeeded: quad(phdr, 16))
        return entries.filter { word($0, 0) == 1 }.map { entry in  // PT_LOAD
            LoadSegment(
                address: bias &+ UInt(truncatingIfNeeded: quad(entry, 16)), size: UInt(truncatingIfNeeded: quad(entry, 40)),
                writable: word(entry, 4) & 2 != 0)  // PF_W
        }
    }

    /// Page-aligned ranges, one per read-only segment. Each is shrunk inward to whole pages, so
    /// that a page a segment shares with a neighbouring (possibly writable) one is never included;
    /// a segment shorter than a page gives nothing.
    public static func ranges(of segments: [LoadSegment], pageSize: UInt) -> [Range<UInt>] {
        precondition(pageSize > 0 && pageSize & (pageSize - 1) == 0, "the page size is a power of two")
        return segments.compactMap { segment in
            guard !segment.writable, segment.size > 0 else { return nil }
            let (end, overflow) = segment.address.addingReportingOverflow(segment.size)
            guard !overflow else { return nil }
            let (roundedUp, upOverflow) = segment.address.addingReportingOverflow(pageSize - 1)
            guard !upOverflow else { return nil }
            let first = roundedUp & ~(pageSize - 1)
            let last = end & ~(pageSize - 1)
            return first < last ? first..<last : nil
        }
    }
}
