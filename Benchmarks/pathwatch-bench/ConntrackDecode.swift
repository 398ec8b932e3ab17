import Foundation
import Netlink
import NetlinkIO
import PathwatchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Folds the fields a consumer of the event would read into one number, so the decode cannot be
/// optimised away.
@inline(__always)
private func fold(_ event: ConntrackEvent) -> UInt64 {
    let f = event.flow
    var h = UInt64(f.id ?? 0)
    h &+= UInt64(f.original.sourcePort ?? 0) &* 31 &+ UInt64(f.reply.destinationPort ?? 0)
    h &+= UInt64(f.status.rawValue) &+ UInt64(f.timeout ?? 0) &+ UInt64(f.mark ?? 0)
    switch f.original.source {
    case .v4(let a): h &+= UInt64(a)
    case .v6(let a, let b): h &+= a ^ b
    }
    switch event.type {
    case .new: h &+= 1
    case .update: h &+= 2
    case .destroy: h &+= 3
    }
    return h
}

func conntrackDecodeBenchmark(events total: Int, fixtures directory: String) {
    // Every recorded event file, concatenated: whole nlmsghdr-framed messages back to back.
    var recording: [UInt8] = []
    var files: [String] = []
    for name in listDirectory(directory) where name.hasPrefix("events-") && name.hasSuffix(".bin") {
        guard let bytes = readFile(directory + "/" + name) else { fail("cannot read \(directory)/\(name)") }
        recording += bytes
        files.append(name)
    }
    guard !recording.isEmpty else { fail("no events-*.bin fixtures in \(directory) (run from the repository root or pass --fixtures)") }

    // Count the events in one copy and check that every message decodes.
    var perCopy = 0
    var types = [0, 0, 0]
    recording.withUnsafeBytes { buffer in
        do {
            try forEachMessage(in: buffer) { message throws(DecodeError) in
                guard let event = try ConntrackEvent(message) else { return }
                perCopy += 1
                switch event.type {
                case .new: types[0] += 1
                case .update: types[1] += 1
                case .destroy: types[2] += 1
                }
            }
        } catch {
            fail("fixture does not decode: \(error)")
        }
    }
    guard perCopy > 0 else { fail("no conntrack events in the fixtures") }

    // Repeat the recording to about one 64 KiB receive buffer, the agent's datagram buffer size,
    // so the loop walks a realistic buffer rather than the same few hundred bytes.
    let copies = max(1, NetlinkSocket.datagramBufferSize / recording.count)
    var buffer: [UInt8] = []
    buffer.reserveCapacity(copies * recording.count)
    for _ in 0..<copies { buffer += recording }
    let eventsPerBuffer = perCopy * copies

    func run(_ target: Int) -> (events: Int, checksum: UInt64) {
        var decoded = 0
        var checksum: UInt64 = 0
        buffer.withUnsafeBytes { raw in
            while decoded < target {
                var messages = MessageIterator(raw)
                do {
                    while decoded < target, let message = try messages.next() {
                        if let event = try ConntrackEvent(message) {
                            checksum &+= fold(event)
                            decoded += 1
                        }
                    }
                } catch {
                    fail("decode failed: \(error)")
                }
            }
        }
        return (decoded, checksum)
    }

    blackHole(run(min(total, 100_000)))  // warm-up
    let cpuBefore = cpuSeconds()
    let start = monotonicNanoseconds()
    let result = run(total)
    let elapsed = monotonicNanoseconds() - start
    let cpuAfter = cpuSeconds()
    blackHole(result.checksum)

    let seconds = Double(elapsed) / 1e9
    let cpu = (cpuAfter.user - cpuBefore.user) + (cpuAfter.system - cpuBefore.system)
    print(
        "fixtures: \(files.joined(separator: ", ")) (\(perCopy) events: \(types[0]) new, \(types[1]) update, \(types[2]) destroy; \(recording.count) bytes)"
    )
    print("buffer: \(copies) copies = \(buffer.count) bytes, \(eventsPerBuffer) events")
    print("events decoded: \(result.events) (checksum \(result.checksum))")
    print("wall: \(format(seconds, decimals: 3)) s, CPU: \(format(cpu, decimals: 3)) s, one thread")
    print("throughput: \(format(Double(result.events) / seconds / 1e6, decimals: 2)) M events/s")
    print("per event: \(format(Double(elapsed) / Double(result.events), decimals: 1)) ns")
    print(
        "machine-readable: events=\(result.events) events_per_s=\(Int(Double(result.events) / seconds)) ns_per_event=\(format(Double(elapsed) / Double(result.events), decimals: 1))"
    )
}

/// Live events from the kernel: receive + frame + decode, CPU time per event. Counterpart of
/// `conntrack -E -o xml > /dev/null` in run-conntrack-decode.sh.
func conntrackListenBenchmark(events target: Int, idleMilliseconds: Int) {
    let socket: ConntrackEventSocket
    do {
        socket = try ConntrackEventSocket(receiveBufferBytes: 64 << 20, timeoutMilliseconds: 200)
    } catch {
        fail("cannot subscribe to conntrack events: \(error)")
    }
    // Tell the driver script we are subscribed.
    print("listening (receive buffer \(socket.receiveBufferSize) bytes)")
    fflush(nil)

    // What the agent's conntrack thread does with each event: the flow table and the hairpin
    // detector (loopback flows are local to local, so every one exercises the detector's index).
    var table = ConntrackTable()
    var detector = HairpinDetector(window: .seconds(2), capacity: 65_536)
    let local: Set<IPAddress> = [IPAddress("127.0.0.1")!, IPAddress("::1")!]
    var hairpins = 0
    var received = 0
    var overruns = 0
    var checksum: UInt64 = 0
    var types = [0, 0, 0]
    var firstEvent: UInt64 = 0
    var lastEvent: UInt64 = 0
    var lastActivity = monotonicNanoseconds()
    let cpuBefore = cpuSeconds()
    while received < target {
        do {
            let got = try socket.receiveEvents { event in
                checksum &+= fold(event)
                table.apply(event)
                if detector.observe(event, at: .now, isLocal: { local.contains($0) }) != nil { hairpins += 1 }
                received += 1
                switch event.type {
                case .new: types[0] += 1
                case .update: types[1] += 1
                case .destroy: types[2] += 1
                }
            }
            let now = monotonicNanoseconds()
            if got {
                if firstEvent == 0 { firstEvent = now }
                lastEvent = now
                lastActivity = now
            } else if now - lastActivity > UInt64(idleMilliseconds) * 1_000_000 {
                break
            }
        } catch  where error.kind == .overrun {
            overruns += 1
        } catch {
            fail("receive failed: \(error)")
        }
    }
    let cpuAfter = cpuSeconds()
    blackHole(checksum)
    let user = cpuAfter.user - cpuBefore.user
    let system = cpuAfter.system - cpuBefore.system
    let cpu = user + system
    blackHole(UInt64(table.count + hairpins + detector.trackedCount))
    print("events: \(received) (\(types[0]) new, \(types[1]) update, \(types[2]) destroy), overruns: \(overruns)")
    if lastEvent > firstEvent {
        print("event rate during the burst: \(format(Double(received) / (Double(lastEvent - firstEvent) / 1e9), decimals: 0)) events/s")
    }
    print("CPU: user \(format(user, decimals: 3)) s + system \(format(system, decimals: 3)) s = \(format(cpu, decimals: 3)) s")
    if received > 0 {
        print("CPU per event: \(format(cpu / Double(received) * 1e9, decimals: 0)) ns")
        print("first→last event: \(format(Double(lastEvent - firstEvent) / 1e9, decimals: 3)) s")
    }
    print(
        "machine-readable: events=\(received) overruns=\(overruns) cpu_s=\(format(cpu, decimals: 3)) user_s=\(format(user, decimals: 3)) sys_s=\(format(system, decimals: 3))"
    )
}
