import Netlink
import NetlinkIO
import PathwatchCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Builds the model the way the agent's route watcher keeps it: links first (container host
/// routes are classified by link kind), then every IPv4 route applied as `.routeAdded`.
private func streamModel(_ dumper: RtnetlinkDumper, links: [Link]) -> NodeState {
    var state = NodeState()
    for link in links { state.apply(.linkChanged(link)) }
    do {
        try dumper.forEachRoute(family: .inet) { route in state.apply(.routeAdded(route)) }
    } catch {
        fail("route dump failed: \(error)")
    }
    return state
}

/// A dump socket and the current links (pod host routes are classified by link kind).
private func openDumper() -> (RtnetlinkDumper, [Link]) {
    do {
        let dumper = try RtnetlinkDumper()
        return (dumper, try dumper.links())
    } catch {
        fail("cannot open rtnetlink: \(error)")
    }
}

/// Times `body` `repeats` times.
private func measure(_ repeats: Int, _ body: () -> Void) -> Samples {
    var samples = Samples()
    for _ in 0..<repeats {
        let start = monotonicNanoseconds()
        body()
        samples.add(monotonicNanoseconds() - start)
    }
    return samples
}

func routeDumpBenchmark(repeats: Int) {
    let (dumper, links) = openDumper()

    // Memory first, in a fresh process, with nothing else allocated yet: the resident-set growth
    // from building one model, with the model kept alive while it is read.
    let rssBefore = procStatusKiB("VmRSS")
    let model = streamModel(dumper, links: links)
    let rssAfter = procStatusKiB("VmRSS")
    let routeCount = model.routes.count

    // Kernel + framing only: the same dump, messages walked and validated but not decoded.
    let raw: NetlinkSocket
    do { raw = try NetlinkSocket(bus: .route) } catch { fail("cannot open rtnetlink: \(error)") }
    var rawChecksum = 0
    let rawDump = measure(repeats) {
        var bytes = 0
        do {
            try raw.request(.dumpRoutes(family: .inet), "raw route dump") { m in bytes &+= Int(m.header.length) }
        } catch {
            fail("raw route dump failed: \(error)")
        }
        rawChecksum &+= bytes
    }

    // Dump + decode into Route values, no model.
    var decodeChecksum = 0
    let decodeOnly = measure(repeats) {
        var sum = 0
        do {
            try dumper.forEachRoute(family: .inet) { route in
                sum &+= route.destination.length &+ route.nextHops.count &+ Int(route.table.rawValue)
            }
        } catch {
            fail("route dump failed: \(error)")
        }
        decodeChecksum &+= sum
    }

    // Alternative: dump, decode and apply each route to a NodeState as it arrives (no array, but
    // the dictionaries grow by rehashing since the count is unknown up front).
    var modelChecksum = 0
    let streamed = measure(repeats) {
        let state = streamModel(dumper, links: links)
        modelChecksum &+= state.routes.count
    }

    // The headline number, what RtnetlinkWatcher.resyncAll does for routes: stream the dump
    // into a fresh NodeState that reserved room for the previous route count.
    var agentChecksum = 0
    var previousCount = 1024
    let agentPath = measure(repeats) {
        var state = NodeState()
        state.replaceAll(links: links, addresses: [], routes: [], rules: [])
        state.reserveRouteCapacity(previousCount)
        do {
            try dumper.forEachRoute(family: .inet, restart: { state.removeRoutes(family: .inet) }) { state.apply(.routeAdded($0)) }
        } catch {
            fail("route dump failed: \(error)")
        }
        previousCount = state.routes.count
        agentChecksum &+= state.routes.count
    }

    // The earlier resync path, for comparison: collect an array of decoded routes, then
    // NodeState.replaceAll (which reserves capacity).
    let collected = measure(repeats) {
        do {
            let routes = try dumper.routes(family: .inet)
            var state = NodeState()
            state.replaceAll(links: links, addresses: [], routes: routes, rules: [])
            agentChecksum &+= state.routes.count
        } catch {
            fail("route dump failed: \(error)")
        }
    }

    // Model insert alone, from an already decoded array.
    let decoded: [Route]
    do { decoded = try dumper.routes(family: .inet) } catch { fail("route dump failed: \(error)") }
    let insertOnly = measure(repeats) {
        var state = NodeState()
        state.replaceAll(links: links, addresses: [], routes: decoded, rules: [])
        agentChecksum &+= state.routes.count
    }

    blackHole(rawChecksum &+ decodeChecksum &+ modelChecksum &+ agentChecksum)

    let growth = rssAfter - rssBefore
    print("routes (IPv4, all tables): \(routeCount)")
    print("repeats: \(repeats)")
    print("")
    print("| phase | min ms | median ms |")
    print("|---|---:|---:|")
    func row(_ name: String, _ s: Samples) { print("| \(name) | \(milliseconds(s.min)) | \(milliseconds(s.median)) |") }
    row("dump + decode streamed into a NodeState sized in advance (agent's resync path)", agentPath)
    row("dump + decode → [Route] → replaceAll (earlier resync path)", collected)
    row("dump + decode + NodeState (streamed, forEachRoute → apply)", streamed)
    row("dump + decode only (forEachRoute, no model)", decodeOnly)
    row("dump only (kernel + recv + framing, no decode)", rawDump)
    row("NodeState insert only (replaceAll from [Route])", insertOnly)
    print("")
    print("model RSS growth: \(growth) KiB (VmRSS \(rssBefore) → \(rssAfter) KiB)")
    if routeCount > 0 {
        print("model bytes per route: \(format(Double(growth) * 1024 / Double(routeCount), decimals: 1))")
    }
    print("VmHWM (peak RSS of this process): \(procStatusKiB("VmHWM")) KiB")
    print(
        "MemoryLayout strides: Route \(MemoryLayout<Route>.stride) B, Route.Key \(MemoryLayout<Route.Key>.stride) B, NextHop \(MemoryLayout<NextHop>.stride) B, stored route record \(RouteStore.recordStride) B"
    )
    print(
        "machine-readable: routes=\(routeCount) agent_min_ms=\(milliseconds(agentPath.min)) agent_median_ms=\(milliseconds(agentPath.median)) stream_min_ms=\(milliseconds(streamed.min)) stream_median_ms=\(milliseconds(streamed.median)) collect_min_ms=\(milliseconds(collected.min)) collect_median_ms=\(milliseconds(collected.median)) decode_median_ms=\(milliseconds(decodeOnly.median)) raw_median_ms=\(milliseconds(rawDump.median)) insert_median_ms=\(milliseconds(insertOnly.median)) model_rss_kib=\(growth)"
    )
    withExtendedLifetime(model) {}
}

/// Only the streamed model, once: peak RSS of this process under `/usr/bin/time -v` is the
/// baseline plus one model, comparable with `ip route show`'s peak RSS.
func routeModelMemory() {
    let (dumper, links) = openDumper()
    let rssBefore = procStatusKiB("VmRSS")
    let model = streamModel(dumper, links: links)
    let rssAfter = procStatusKiB("VmRSS")
    print("routes=\(model.routes.count) model_rss_kib=\(rssAfter - rssBefore) vmhwm_kib=\(procStatusKiB("VmHWM"))")
    withExtendedLifetime(model) {}
}
