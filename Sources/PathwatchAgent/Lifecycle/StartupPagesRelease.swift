import Glibc
import Logging
import PathwatchCore
import ServiceLifecycle

/// Once the agent is ready and has run for a while, tells the kernel it may page out the
/// executable's code and constants (`madvise(MADV_PAGEOUT)` on its read-only segments): the
/// pages only start-up touched leave the agent's resident memory, and those it keeps using come
/// back on their next access. Measured in docs/benchmarks.md ("Start-up pages released"); the
/// release build lays out the functions an agent runs at rest first (scripts/symbol-order.txt.gz),
/// so what comes back lies mostly together rather than one page in every 64 KiB of `.text`. The
/// advice takes a few milliseconds of one thread, once.
///
/// Runs once; `releaseStartupPagesAfterSeconds: 0` turns it off.
final class StartupPagesRelease: Service {
    private let delay: Duration
    private let isReady: @Sendable () -> Bool
    private let logger: Logger

    init(afterSeconds seconds: Double, isReady: @escaping @Sendable () -> Bool, logger: Logger) {
        delay = .milliseconds(Int64(seconds * 1000))
        self.isReady = isReady
        self.logger = logger
    }

    func run() async throws {
        // Until shutdown: the delay, then until the first dumps are in (start-up is not over
        // before), then the release.
        try? await cancelWhenGracefulShutdown {
            try await Task.sleep(for: self.delay)
            while !self.isReady() { try await Task.sleep(for: .seconds(1)) }
        }
        guard !Task.isCancelled, !Task.isShuttingDownGracefully else { return }
        releaseOnce()
        // A service that returns ends the service group: this one waits for the shutdown
        // (suspended, no thread).
        try? await gracefulShutdown()
    }

    private func releaseOnce() {
        let before = Self.residentKiB()
        let outcome = Self.release()
        switch outcome {
        case .success(let bytes):
            logger.info(
                "start-up pages released",
                metadata: [
                    "read_only_bytes": "\(bytes)", "resident_kib_before": "\(before.map(String.init) ?? "?")",
                    "resident_kib_after": "\(Self.residentKiB().map(String.init) ?? "?")",
                ])
        case .failure(let error):
            logger.warning(
                "start-up pages could not be released; resident memory stays as it is",
                metadata: ["error": "\(String(cString: strerror(error.code)))"])
        }
    }

    /// `MADV_PAGEOUT` (Linux 5.4); Glibc's headers on older systems lack the name.
    static let pageOut: Int32 = 21

    /// Advises every read-only segment of the executable; the bytes covered, or the first errno.
    static func release() -> Result<UInt, ReleaseError> {
        let pageSize = UInt(sysconf(Int32(_SC_PAGESIZE)))
        var covered: UInt = 0
        for range in ReadOnlySegments.ranges(of: executableSegments(), pageSize: pageSize) {
            guard let start = UnsafeMutableRawPointer(bitPattern: range.lowerBound) else { continue }
            if madvise(start, Int(range.upperBound - range.lowerBound), pageOut) != 0 {
                // EINVAL: a kernel without MADV_PAGEOUT; dropping the mapping's pages is the
                // same for clean file pages (they are read back from the file when used).
                guard errno == EINVAL, madvise(start, Int(range.upperBound - range.lowerBound), MADV_DONTNEED) == 0 else {
                    return .failure(ReleaseError(code: errno))
                }
            }
            covered += range.upperBound - range.lowerBound
        }
        return .success(covered)
    }

    struct ReleaseError: Error { var code: Int32 }

    /// The executable's `PT_LOAD` segments, from its program headers in memory (the auxiliary
    /// vector says where the kernel put them).
    static func executableSegments() -> [ReadOnlySegments.LoadSegment] {
        guard let auxv = try? TextFile.bytes("/proc/self/auxv"),
            let headers = ReadOnlySegments.programHeaders(auxiliaryVector: auxv),
            let start = UnsafeRawPointer(bitPattern: headers.address)
        else { return [] }
        let bytes = Array(UnsafeRawBufferPointer(start: start, count: headers.count * headers.entrySize))
        return ReadOnlySegments.loadSegments(programHeaders: bytes, entrySize: headers.entrySize, headersAddress: headers.address)
    }

    /// `VmRSS` of this process, for the log line.
    static func residentKiB() -> Int? {
        guard let text = try? TextFile.read("/proc/self/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.dropFirst(6).trimmingWhitespace().split(separator: " ").first ?? "")
        }
        return nil
    }
}
