import Foundation
import Netlink
import PathwatchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Resident memory of the agent's flow model at a size the kernel of the reference machine cannot
/// hold (`nf_conntrack_max` is 262,144 there and the root namespace's sysctls are not ours to
/// raise): N synthetic flows go through the code the conntrack watcher runs per event,
/// `ConntrackTable.apply` then `HairpinDetector.observe`, and the growth of `VmRSS` is divided by N.
///
/// The flows are the decoded TCPv4 NEW event of the recorded fixtures, so they carry what the
/// kernel really sends (counters, timestamps, TCP state), with the id, the addresses and the ports
/// made unique per flow. `--local-sources` makes every source a node-local endpoint, so every flow
/// also enters the hairpin correlator (bounded by `--capacity`); otherwise the sources are remote
/// clients, as on a server, and the detector ignores them. `--resync` instead streams the flows
/// into a fresh table one at a time while the full one is still held, as the conntrack watcher
/// re-dumps after an overrun (no array of decoded flows beside it), and swaps: what an overrun
/// costs at its peak.
///
/// The table keeps every flow here (no selection): the agent's selection by source would keep
/// none of the remote-source flows, so this measures the table's own cost per flow.
func flowMemoryBenchmark(flows total: Int, localSources: Bool, capacity: Int, resync: Bool, fixtures directory: String) {
    guard let bytes = readFile(directory + "/events-tcp4.bin") else {
        fail("cannot read \(directory)/events-tcp4.bin (run from the repository root or pass --fixtures)")
    }
    var template: ConntrackFlow?
    bytes.withUnsafeBytes { buffer in
        do {
            try forEachMessage(in: buffer) { message throws(DecodeError) in
                if template == nil, let event = try ConntrackEvent(message), event.type == .new { template = event.flow }
            }
        } catch {
            fail("fixture does not decode: \(error)")
        }
    }
    guard let template else { fail("no NEW event in events-tcp4.bin") }

    // Node-local endpoints: 10.0.0.0/16 when the sources are local, else only the server address.
    let server: UInt32 = 0x0A64_0001  // 10.100.0.1
    let isLocal: (IPAddress) -> Bool = { address in
        guard case .v4(let v) = address else { return false }
        return localSources ? (v >> 16 == 0x0A00) : v == server
    }
    func flow(_ i: Int) -> ConntrackFlow {
        var f = template
        f.id = UInt32(truncatingIfNeeded: i + 1)
        let client: UInt32 = (localSources ? 0x0A00_0000 : 0xC633_0000) | UInt32(truncatingIfNeeded: (i >> 14) & 0xFFFF)
        let port = UInt16(truncatingIfNeeded: 1024 + (i & 0x3FFF))
        // Local sources talk to a remote frontend; remote clients talk to the local server.
        let destination: UInt32 = localSources ? 0xCB00_7101 : server
        f.original.source = .v4(client)
        f.original.sourcePort = port
        f.original.destination = .v4(destination)
        f.reply.source = .v4(destination)
        f.reply.destination = .v4(client)
        f.reply.destinationPort = port
        return f
    }

    let rssBefore = procStatusKiB("VmRSS")
    let hwmBefore = procStatusKiB("VmHWM")
    var table = ConntrackTable()
    var detector = HairpinDetector(window: .seconds(2), capacity: capacity)
    let cpuBefore = cpuSeconds()
    let start = monotonicNanoseconds()
    if resync {
        // The table before the overrun, then the re-dump streamed into a fresh one beside it.
        for i in 0..<total { table.insert(flow(i)) }
        var fresh = ConntrackTable(reservingCapacity: table.count)
        for i in 0..<total { fresh.insert(flow(i)) }
        table = fresh
    } else {
        // The watcher's loop: a batch per receive, applied to the table, then seen by the detector.
        let now = ContinuousClock.now
        var batch: [ConntrackEvent] = []
        batch.reserveCapacity(256)
        var i = 0
        while i < total {
            batch.removeAll(keepingCapacity: true)
            while batch.count < 256, i < total {
                batch.append(ConntrackEvent(type: .new, flow: flow(i)))
                i += 1
            }
            for event in batch { table.apply(event) }
            for event in batch { blackHole(detector.observe(event, at: now, isLocal: isLocal)) }
        }
    }
    let elapsed = monotonicNanoseconds() - start
    let cpuAfter = cpuSeconds()
    let rssAfter = procStatusKiB("VmRSS")
    let hwmAfter = procStatusKiB("VmHWM")
    let growth = Double(rssAfter - rssBefore) * 1024
    let cpu = (cpuAfter.user - cpuBefore.user) + (cpuAfter.system - cpuBefore.system)

    print("flows: \(table.count) in ConntrackTable (\(resync ? "a re-dump streamed beside the full table, then swapped" : "NEW events"))")
    print(
        "hairpin detector: \(detector.trackedCount) tracked (capacity \(capacity)), evicted for capacity \(detector.correlator.evictedForCapacity)"
    )
    print(
        "decoded ConntrackFlow: \(MemoryLayout<ConntrackFlow>.stride) bytes; stored record: \(TrackedFlow.packedStrideV4) bytes (IPv4), \(TrackedFlow.packedStrideV6) bytes (IPv6)"
    )
    print("VmRSS: \(rssBefore / 1024) MiB -> \(rssAfter / 1024) MiB, growth \(format(growth / 1_048_576, decimals: 1)) MiB")
    print("VmHWM: \(hwmBefore / 1024) MiB -> \(hwmAfter / 1024) MiB")
    print("per flow: \(format(growth / Double(total), decimals: 0)) bytes")
    print(
        "wall \(format(Double(elapsed) / 1e9, decimals: 3)) s, CPU \(format(cpu, decimals: 3)) s, \(format(cpu / Double(total) * 1e9, decimals: 0)) ns/flow"
    )
    print(
        "machine-readable: flows=\(table.count) rss_growth_kib=\(rssAfter - rssBefore) bytes_per_flow=\(format(growth / Double(total), decimals: 0)) hwm_kib=\(hwmAfter) rss_kib=\(rssAfter) tracked=\(detector.trackedCount) cpu_s=\(format(cpu, decimals: 3))"
    )
    withExtendedLifetime(table) {}
}
