import Netlink
import PathwatchCore

/// Counter mode: the kernel's counters stand in for the probe, saying less. `in_martian_src`
/// rising is the instance hairpin (`self_sourced_syn_drop`); `TcpExtIPReversePathFilter` rising
/// while connections from node-local endpoints are unanswered is a pod hairpin whose frontend is
/// unknown (``ReversePathFallback``).
extension SelfSourcedSynController {
    /// Counter mode only: with the probe, the collector reads the counters when scraped.
    func pollCounter(at now: Instant) {
        do {
            let value = try sources.martian.read()
            let rise = lastMartian.map { value > $0 ? value - $0 : 0 } ?? 0
            lastMartian = value
            let outcome = slice.update { engine, s -> SelfSourcedSynEngine.Outcome? in
                s.martianPackets = value
                guard rise > 0 else { return nil }
                s.drops += rise
                return engine.counterRose(by: rise, at: now)
            }
            apply(outcome.map { [$0] } ?? [])
            if !martianReadable {
                martianReadable = true
                logger.notice("martian-source counter readable again")
            }
        } catch {
            if martianReadable {
                martianReadable = false
                logger.warning("cannot read the martian-source counter", metadata: ["error": "\(error)"])
            }
        }
    }

    func pollReversePathCounter(at now: Instant) {
        guard let value = try? sources.reversePathCounter() else { return }
        let rise = lastReversePath.map { value > $0 ? value - $0 : 0 } ?? 0
        lastReversePath = value
        guard rise > 0 else { return }
        let local = sources.localEndpoints()
        let flows = ReversePathFallback.unansweredFlows((try? sources.unansweredFlows()) ?? [], isLocal: { local.contains($0) })
        let outcome = slice.update { engine, _ in engine.reversePathCounterRose(by: rise, unanswered: flows, at: now) }
        apply(outcome.map { [$0] } ?? [])
    }
}

/// No such counter here (an old kernel, no `/proc/net/netstat`).
struct CounterUnavailable: Error {}
