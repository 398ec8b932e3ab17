// pathwatch-bench socket-sampling [--sockets N] [--repeat K]
//
// Opens N established loopback TCP connections in the current network namespace (2N sockets:
// both ends are established), then times, in the same run and on the same sockets:
//   - pathwatch's sample: sock_diag dump of IPv4 and IPv6 established sockets with tcp_info,
//     decoded and aggregated per path class (what the agent does every interval);
//   - the dump alone (decode, no aggregation);
//   - `ss -tin > /dev/null` (iproute2 reading the same sock_diag data and printing it).
// Reports the median wall time and the CPU time per sample. Run it in a throwaway namespace
// (Benchmarks/run-socket-sampling.sh does).
import Foundation
import Netlink
import NetlinkIO
import PathwatchCore

#if canImport(Glibc)
    import Glibc
#endif

enum SocketSamplingBench {
    struct Measurement {
        var wall: [Double] = []
        var cpu: [Double] = []
        var median: Double { wall.sorted()[wall.count / 2] }
        var cpuMean: Double { cpu.reduce(0, +) / Double(max(cpu.count, 1)) }
    }

    static func cpuSeconds(_ who: __rusage_who) -> Double {
        var usage = rusage()
        getrusage(who.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func fail(_ what: String) -> Never {
        FileHandle.standardError.write(Data("socket-sampling: \(what) (errno \(errno))\n".utf8))
        exit(1)
    }

    /// The most connections one process can hold: both ends are its fds.
    static func connectionsPerProcess() -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return max(1, (Int(limit.rlim_cur) - 256) / 2)
    }

    /// N established connections over 127.0.0.1, spread over listener ports from `portBase`
    /// (above the namespace's ephemeral range, 1024–59999, set by the script) so the ephemeral
    /// range never runs out and no client takes a listener's port. Returns every fd (they stay open until exit).
    static func openConnections(_ count: Int, portBase: UInt16) -> [Int32] {
        let perPort = 25_000
        var fds: [Int32] = []
        fds.reserveCapacity(2 * count + 8)
        var opened = 0
        var port = portBase
        while opened < count {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound != 0 || listen(listener, 4096) != 0 { fail("listen on 127.0.0.1:\(port)") }
            fds.append(listener)
            let batch = min(perPort, count - opened)
            for _ in 0..<batch {
                let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                if connected != 0 { fail("connect #\(opened)") }
                let server = accept(listener, nil, nil)
                if server < 0 { fail("accept #\(opened)") }
                fds.append(client)
                fds.append(server)
                opened += 1
            }
            port += 1
        }
        return fds
    }

    /// Holds `count` connections in this process until killed (a helper of the parent run, when
    /// the fd limit keeps one process from holding them all).
    static func hold(_ count: Int, portBase: UInt16) -> Never {
        _ = connectionsPerProcess()
        let fds = openConnections(count, portBase: portBase)
        FileHandle.standardOutput.write(Data("ready \(fds.count)\n".utf8))
        // Ends with its parent, also when the parent fails without cleaning up.
        let parent = getppid()
        while getppid() == parent { sleep(1) }
        exit(0)
    }

    /// Opens `count` connections, in helper processes when one process cannot hold them all.
    /// Returns the helpers (ended by PID by the caller) and the fds held here.
    static func openEverywhere(_ count: Int) -> (helpers: [Process], fds: [Int32]) {
        let perProcess = connectionsPerProcess()
        if count <= perProcess { return ([], openConnections(count, portBase: 60_000)) }
        var helpers: [Process] = []
        var left = count
        var portBase: UInt16 = 60_000
        while left > 0 {
            let share = min(perProcess, left)
            let helper = Process()
            helper.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            helper.arguments = ["socket-sampling", "--hold", "\(share)", "--port-base", "\(portBase)"]
            let pipe = Pipe()
            helper.standardOutput = pipe
            do { try helper.run() } catch { fail("start a holder: \(error)") }
            let line = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
            guard line.hasPrefix("ready") else { fail("a holder did not get ready: \(line)") }
            helpers.append(helper)
            left -= share
            portBase += UInt16((share + 24_999) / 25_000)
        }
        return (helpers, [])
    }

    static func run(_ arguments: [String]) {
        var sockets = 10_000
        var repeats = 10
        var holdOnly: Int?
        var portBase: UInt16 = 60_000
        var i = 0
        while i < arguments.count {
            let value = i + 1 < arguments.count ? Int(arguments[i + 1]) : nil
            switch (arguments[i], value) {
            case ("--sockets", .some(let v)): sockets = v
            case ("--repeat", .some(let v)): repeats = max(1, v)
            case ("--hold", .some(let v)): holdOnly = v
            case ("--port-base", .some(let v)): portBase = UInt16(clamping: v)
            default:
                print("usage: pathwatch-bench socket-sampling [--sockets N] [--repeat K]")
                exit(2)
            }
            i += 2
        }
        if let holdOnly { hold(holdOnly, portBase: portBase) }
        let setupStart = now()
        let (helpers, fds) = openEverywhere(sockets)
        let setup = now() - setupStart
        defer {
            for helper in helpers {
                kill(helper.processIdentifier, SIGKILL)
                helper.waitUntilExit()
            }
        }

        let client: SockDiagClient
        do { client = try SockDiagClient() } catch { fail("\(error)") }
        var aggregator = PathAggregator()
        var seen = 0
        var sample = Measurement()
        var dumpOnly = Measurement()
        var ss = Measurement()
        for _ in 0..<repeats {
            // pathwatch's sample: dump + classify + per-cookie deltas + distributions.
            var t = now()
            var c = cpuSeconds(RUSAGE_SELF)
            seen = 0
            aggregator.begin()
            do {
                try client.forEachTCPSocket { record in
                    seen += 1
                    aggregator.add(record)
                }
            } catch { fail("\(error)") }
            _ = aggregator.finish(at: ContinuousClock.now)
            sample.wall.append(now() - t)
            sample.cpu.append(cpuSeconds(RUSAGE_SELF) - c)

            t = now()
            c = cpuSeconds(RUSAGE_SELF)
            var decoded = 0
            do { try client.forEachTCPSocket { _ in decoded += 1 } } catch { fail("\(error)") }
            dumpOnly.wall.append(now() - t)
            dumpOnly.cpu.append(cpuSeconds(RUSAGE_SELF) - c)

            t = now()
            c = cpuSeconds(RUSAGE_CHILDREN)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ss -tin > /dev/null"]
            do { try process.run() } catch { fail("ss: \(error)") }
            process.waitUntilExit()
            ss.wall.append(now() - t)
            ss.cpu.append(cpuSeconds(RUSAGE_CHILDREN) - c)
        }
        func ms(_ x: Double) -> String { String(format: "%.1f", x * 1000) }
        print(
            "connections \(sockets) (in \(max(1, helpers.count)) process(es)), established sockets sampled \(seen), setup \(String(format: "%.1f", setup)) s, \(repeats) samples"
        )
        print(
            "| established sockets | pathwatch sample (median wall, ms) | pathwatch CPU/sample (ms) | dump+decode only (ms) | `ss -tin > /dev/null` (median wall, ms) | ss CPU/run (ms) |"
        )
        print(
            "| \(seen) | \(ms(sample.median)) | \(ms(sample.cpuMean)) | \(ms(dumpOnly.median)) | \(ms(ss.median)) | \(ms(ss.cpuMean)) |")
        withExtendedLifetime(fds) {}
    }
}

func socketSamplingBenchmark(_ arguments: [String]) { SocketSamplingBench.run(arguments) }
