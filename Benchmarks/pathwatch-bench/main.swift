// pathwatch-bench: benchmarks, not tests. See docs/benchmarks.md for how to run them and the
// numbers measured on the reference machine.
//
//   pathwatch-bench route-dump [--repeat N]
//   pathwatch-bench route-model-memory
//   pathwatch-bench conntrack-decode [--events N] [--fixtures DIR]
//   pathwatch-bench conntrack-listen [--events N] [--idle-ms MS]
//   pathwatch-bench flow-memory [--flows N] [--local-sources yes] [--capacity N] [--resync yes]
//   pathwatch-bench path-verdict [--peers N] [--sockets-per-peer N] [--rounds N]
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

let usage = """
    usage: pathwatch-bench route-dump [--repeat N]
           pathwatch-bench route-model-memory
           pathwatch-bench conntrack-decode [--events N] [--fixtures DIR]
           pathwatch-bench conntrack-listen [--events N] [--idle-ms MS]
           pathwatch-bench socket-sampling [options: see Benchmarks/run-socket-sampling.sh]
           pathwatch-bench flow-memory [--flows N] [--local-sources yes] [--capacity N] [--resync yes]
           pathwatch-bench path-verdict [--peers N] [--sockets-per-peer N] [--rounds N]

    route-dump        full IPv4 route dump of the current network namespace decoded into a
                      NodeState (the agent's start-up / overrun path), timed N times (default 5),
                      plus the resident memory of the model and a decode-vs-insert breakdown.
    route-model-memory  builds the streamed model once and nothing else (for /usr/bin/time -v).
    conntrack-decode  decodes recorded ctnetlink event fixtures from an in-memory buffer on one
                      thread, N events in total (default 5,000,000); prints events/s and ns/event.
    conntrack-listen  subscribes to the conntrack event groups of the current namespace and decodes
                      events until N arrived (default 100,000) or none came for MS ms (default
                      3000); prints events, overruns and the process's CPU time per event.
    socket-sampling   samples the established TCP sockets of the current namespace with tcp_info,
                      as the path sampler does (docs/benchmarks.md, "TCP socket sampling").
    flow-memory       N synthetic decoded flows (default 1,000,000) through ConntrackTable and the
                      hairpin detector, as the conntrack watcher feeds them; prints the resident
                      memory growth per flow. --local-sources yes: every source is node-local, so
                      every flow also enters the hairpin correlator (bounded by --capacity,
                      default 65536). --resync yes: a re-dump streamed into a fresh table beside the full one.
    path-verdict      the per-peer path verdict on N synthetic public peers (default 16,384) with
                      sockets-per-peer sockets each (default 2), a third lossy; prints the median
                      aggregation and judgement time per round once the 30 s window is full.
    """

var arguments = CommandLine.arguments.dropFirst()
guard let command = arguments.popFirst() else {
    print(usage)
    exit(2)
}
switch command {
case "route-dump":
    let options = Options(arguments, allowed: ["repeat"])
    routeDumpBenchmark(repeats: options.int("repeat", default: 5))
case "route-model-memory":
    _ = Options(arguments, allowed: [])
    routeModelMemory()
case "conntrack-decode":
    let options = Options(arguments, allowed: ["events", "fixtures"])
    conntrackDecodeBenchmark(
        events: options.int("events", default: 5_000_000),
        fixtures: options.string("fixtures") ?? "Tests/NetlinkTests/Fixtures/conntrack")
case "conntrack-listen":
    let options = Options(arguments, allowed: ["events", "idle-ms"])
    conntrackListenBenchmark(events: options.int("events", default: 100_000), idleMilliseconds: options.int("idle-ms", default: 3000))
case "socket-sampling":
    socketSamplingBenchmark(Array(arguments))
case "flow-memory":
    let options = Options(arguments, allowed: ["flows", "local-sources", "capacity", "resync", "fixtures"])
    flowMemoryBenchmark(
        flows: options.int("flows", default: 1_000_000), localSources: options.string("local-sources") == "yes",
        capacity: options.int("capacity", default: 65_536), resync: options.string("resync") == "yes",
        fixtures: options.string("fixtures") ?? "Tests/NetlinkTests/Fixtures/conntrack")
case "path-verdict":
    let options = Options(arguments, allowed: ["peers", "sockets-per-peer", "rounds"])
    pathVerdictBenchmark(
        peers: options.int("peers", default: 16_384), socketsPerPeer: options.int("sockets-per-peer", default: 2),
        rounds: options.int("rounds", default: 16))
case "-h", "--help", "help":
    print(usage)
default:
    print(usage)
    exit(2)
}
