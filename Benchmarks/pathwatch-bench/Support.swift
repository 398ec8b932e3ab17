#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Monotonic nanoseconds (CLOCK_MONOTONIC).
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// CPU seconds (user, system) this process has used so far.
func cpuSeconds() -> (user: Double, system: Double) {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return (seconds(usage.ru_utime), seconds(usage.ru_stime))
}

/// A `/proc/self/status` field in KiB (`VmRSS`, `VmHWM`), or -1 when unreadable.
func procStatusKiB(_ field: String) -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return -1 }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 512)
    let prefix = field + ":"
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if text.hasPrefix(prefix) {
            let digits = text.dropFirst(prefix.count).filter { $0.isNumber }
            return Int(digits) ?? -1
        }
    }
    return -1
}

/// Reads a whole file, or nil.
func readFile(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        if n > 0 { bytes += chunk[0..<n] }
        if n < chunk.count { break }
    }
    return bytes
}

func listDirectory(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

/// Keeps a value observable so the optimizer cannot drop the work that produced it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

struct Samples {
    var nanoseconds: [UInt64] = []
    mutating func add(_ ns: UInt64) { nanoseconds.append(ns) }
    var min: UInt64 { nanoseconds.min() ?? 0 }
    var median: UInt64 {
        let s = nanoseconds.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

func milliseconds(_ ns: UInt64) -> String { format(Double(ns) / 1e6, decimals: 3) }

func format(_ value: Double, decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int(scaled / scale)
    let fraction = Int(scaled - Double(whole) * scale)
    var text = (value < 0 && scaled > 0 ? "-" : "") + String(whole)
    if decimals > 0 {
        let digits = String(fraction)
        text += "." + String(repeating: "0", count: decimals - digits.count) + digits
    }
    return text
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

func fail(_ message: String) -> Never {
    let text = Array("pathwatch-bench: \(message)\n".utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

/// `--name value` options after the subcommand.
struct Options {
    private var values: [String: String] = [:]
    init(_ arguments: ArraySlice<String>, allowed: Set<String>) {
        var it = arguments.makeIterator()
        while let arg = it.next() {
            guard arg.hasPrefix("--"), allowed.contains(String(arg.dropFirst(2))) else { fail("unknown option \(arg)") }
            guard let value = it.next() else { fail("\(arg) needs a value") }
            values[String(arg.dropFirst(2))] = value
        }
    }
    func int(_ name: String, default value: Int) -> Int {
        guard let text = values[name] else { return value }
        guard let n = Int(text), n > 0 else { fail("--\(name) wants a positive integer, got \(text)") }
        return n
    }
    func string(_ name: String) -> String? { values[name] }
}
