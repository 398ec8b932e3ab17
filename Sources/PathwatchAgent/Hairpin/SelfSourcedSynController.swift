import Foundation
import Logging
import Netlink
import PathwatchCore

/// The self-sourced SYN slice's decisions, over its two sources: when to (re)install the probe
/// and when to fall back to the martian-source counter, what a logged SYN's frontend is, and
/// what the engine's outcomes do to the findings and the log.
///
/// Driven by one thread (the watcher's) and by an injected clock, so every decision has a unit
/// test with in-memory sources; the kernel adapters are ``SynProbe`` and ``MartianCounterFile``.
final class SelfSourcedSynController {
    typealias Instant = ContinuousClock.Instant
    typealias Endpoint = HairpinCorrelator.Endpoint

    struct Sources {
        /// Installs the probe; nil keeps the node untouched (probe off, or doctor).
        var installProbe: (() throws -> any SynProbeSource)?
        var martian: any MartianCounterSource
        /// Names an input interface by index (from the model).
        var interfaceName: (UInt32) -> String?
        /// The node-local endpoints, copied out of the model.
        var localEndpoints: () -> LocalEndpoints
        /// Where a pod hairpin seen by the reverse-path rule goes (the hairpin slice).
        var podHairpin: ((HairpinCorrelator.Match, _ origin: String) -> Void)? = nil
    }

    /// The probe is retried this long after it could not be installed, and after it failed.
    static let installRetry = Duration.seconds(30)
    static let failureRetry = Duration.seconds(5)

    private let sources: Sources
    private let slice: SelfSourcedSynSlice
    private let findings: FindingsRegistry
    private let logger: Logger
    private let wallClock: () -> Date
    private let table = "inet \(SynProbeRule.table)"
    private let logGroup: Int
    private(set) var probe: (any SynProbeSource)?
    private var nextAttempt: Instant?
    private var lastTick: Instant?
    private var warned = false
    private var lastMartian: UInt64?
    private var martianReadable = true
    private var lookups = FrontendLookups()
    /// Pods whose flows were masqueraded to a source endpoint, found with its frontend.
    private var clients: [Endpoint: IPAddress] = [:]

    init(
        sources: Sources, slice: SelfSourcedSynSlice, logGroup: Int, findings: FindingsRegistry, logger: Logger,
        wallClock: @escaping () -> Date = { Date() }
    ) {
        self.sources = sources
        self.slice = slice
        self.logGroup = logGroup
        self.findings = findings
        self.logger = logger
        self.wallClock = wallClock
        slice.update { _, s in s.mode = .counter }
    }

    /// Installs the probe when it is wanted, missing and due.
    func installIfDue(at now: Instant) {
        guard let install = sources.installProbe, probe == nil, nextAttempt.map({ now >= $0 }) ?? true else { return }
        do {
            let installed = try install()
            probe = installed
            warned = false
            slice.update { _, s in s.mode = .probe }
            logger.notice("self-sourced SYN probe installed", metadata: ["table": "\(table)", "group": "\(logGroup)"])
            if let error = installed.conntrackError {
                logger.warning(
                    "no ctnetlink socket: self-sourced SYNs are detected but their frontend cannot be named",
                    metadata: ["error": "\(error)"])
            }
        } catch {
            nextAttempt = now + Self.installRetry
            if !warned {
                warned = true
                logger.warning(
                    "cannot install the self-sourced SYN probe; using the in_martian_src counter (no frontend names); retrying every 30 s",
                    metadata: ["error": "\(error)", "group": "\(logGroup)"])
            }
        }
    }

    /// Receives logged SYNs for a while; false when there is no probe (the caller pauses).
    func receive(at now: @autoclosure () -> Instant) -> Bool {
        guard let active = probe else { return false }
        do {
            try active.receive { packet in handle(packet, probe: active, at: now()) }
        } catch {
            switch error {
            case .overrun: slice.update { _, s in s.probeLost += 1 }
            case .failed(let cause): drop(active, cause, at: now())
            }
        }
        return true
    }

    /// Once a second: checks the probe's table, reads the counter, sets the mode, closes quiet
    /// findings.
    func tick(at now: Instant) {
        if let last = lastTick, now - last < .seconds(1) { return }
        lastTick = now
        if let active = probe {
            do {
                let check = try active.verify()
                slice.update { _, s in
                    s.drops += check.matched
                    s.udpDrops += check.matchedUDP
                    s.reversePathSyns += check.matchedReversePath
                    if check.reinstalled { s.probeReinstalls += 1 }
                }
                if check.reinstalled {
                    logger.warning(
                        "the self-sourced SYN probe's nftables table was flushed, deleted or changed by someone else; recreated it",
                        metadata: ["table": "\(table)"])
                }
            } catch {
                drop(active, error, at: now)
            }
        }
        pollCounter(at: now)
        let mode: SelfSourcedSynMode = probe != nil ? .probe : martianReadable ? .counter : .none
        let closed = slice.update { engine, s in
            s.mode = mode
            return engine.expire(at: now)
        }
        apply(closed)
    }

    /// Deletes the probe's table: the node is left as it was.
    func shutdown() {
        guard let active = probe else { return }
        probe = nil
        do {
            try active.remove()
            logger.notice("self-sourced SYN probe removed", metadata: ["table": "\(table)"])
        } catch {
            logger.error("cannot remove the self-sourced SYN probe's nftables table", metadata: ["error": "\(error)"])
        }
    }

    private func drop(_ active: any SynProbeSource, _ error: any Error, at now: Instant) {
        logger.warning("self-sourced SYN probe failed; using the in_martian_src counter until it is back", metadata: ["error": "\(error)"])
        try? active.remove()
        probe = nil
        nextAttempt = now + Self.failureRetry
    }

    /// The counter is exported in every mode; its rises raise findings only without a probe.
    private func pollCounter(at now: Instant) {
        do {
            let value = try sources.martian.read()
            let reporting = probe == nil
            let rise = lastMartian.map { value > $0 ? value - $0 : 0 } ?? 0
            lastMartian = value
            let outcome = slice.update { engine, s -> SelfSourcedSynEngine.Outcome? in
                s.martianPackets = value
                guard reporting, rise > 0 else { return nil }
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

    private func handle(_ packet: NflogPacket, probe: any SynProbeSource, at now: Instant) {
        guard packet.group == logGroup, let header = packet.header, header.isTCPSyn || header.protocolNumber == .udp else { return }
        let interface = packet.inputInterface.flatMap(sources.interfaceName)
        if packet.prefix == SynProbeRule.reversePathPrefix {
            reversePathDrop(header, interface: interface, probe: probe, at: now)
            return
        }
        let frontend = self.frontend(of: header, probe: probe, at: now)
        guard var syn = SelfSourcedSyn(packet: packet, frontend: frontend, interface: interface) else { return }
        if frontend != nil { syn.client = clients[syn.source] }
        let outcome = slice.update { engine, s in
            s.probePackets += 1
            return engine.logged(syn, at: now)
        }
        apply([outcome])
    }

    /// A SYN the strict reverse-path check drops: a pod hairpin when its source is hosted here
    /// and conntrack names the frontend its pod was talking to; anything else is not ours.
    private func reversePathDrop(_ header: IPPacketHeader, interface: String?, probe: any SynProbeSource, at now: Instant) {
        guard let report = sources.podHairpin, header.isTCPSyn, let sourcePort = header.sourcePort, let targetPort = header.destinationPort,
            sources.localEndpoints().contains(header.source), let frontend = frontend(of: header, probe: probe, at: now)
        else { return }
        let match = HairpinCorrelator.Match(
            frontend: frontend, source: Endpoint(address: header.source, port: sourcePort),
            localTarget: Endpoint(address: header.destination, port: targetPort), protocolNumber: .tcp, hairpinFlowID: nil, time: now)
        report(
            match,
            "probe: a SYN from this node-local endpoint arrived from outside on \(interface ?? "?") (it fails the strict reverse-path check: rp_filter=1 or a raw-table rpfilter rule drops it there)"
        )
    }

    /// The frontend of a logged SYN, from the node's own outbound flow with the same source.
    private func frontend(of header: IPPacketHeader, probe: any SynProbeSource, at now: Instant) -> Endpoint? {
        guard let port = header.sourcePort else { return nil }
        let source = Endpoint(address: header.source, port: port)
        switch lookups.decide(for: source, at: now) {
        case .cached(let frontend): return frontend
        case .skip: return nil
        case .lookUp:
            let flows = (try? probe.flows(from: header.source, port: port, protocolNumber: header.protocolNumber)) ?? []
            guard !flows.isEmpty else { return nil }
            let local = sources.localEndpoints()
            guard let frontend = SelfSourcedSyn.frontend(of: header, among: flows, isLocal: { local.contains($0) }) else { return nil }
            lookups.remember(frontend, for: source, at: now)
            if clients.count >= lookups.cacheLimit { clients.removeAll(keepingCapacity: true) }
            clients[source] = SelfSourcedSyn.masqueradedClient(of: header, to: frontend, among: flows)
            return frontend
        }
    }

    private func apply(_ outcomes: [SelfSourcedSynEngine.Outcome]) {
        guard !outcomes.isEmpty else { return }
        let time = wallClock()
        for outcome in outcomes {
            switch outcome {
            case .opened(var report), .updated(var report):
                if let resolver = slice.podNames, var evidence = report.evidence as? SelfSourcedSynEvidence {
                    evidence.namePods(resolver)
                    report.evidence = evidence
                    report.summary = evidence.summary
                }
                let opened = findings.report(
                    kind: .selfSourcedSynDrop, key: report.key.description, summary: report.summary, evidence: report.evidence,
                    remediation: HairpinRemediation.clientAddressPreserved, at: time, occurrences: report.occurrences)
                guard opened else { continue }
                if let syn = report.syn {
                    logger.warning(
                        "self-sourced SYN drop: the node's own connection comes back to it",
                        metadata: [
                            "frontend": "\(report.key)", "source": "\(syn.source)", "target": "\(syn.target)",
                            "interface": "\(syn.interface ?? "?")", "senderMAC": "\(syn.senderMAC ?? "?")",
                        ])
                } else {
                    logger.warning("self-sourced SYNs (martian sources) are being dropped", metadata: ["increase": "\(report.occurrences)"])
                }
            case .closed(let key, let count):
                findings.clear(kind: .selfSourcedSynDrop, key: key.description)
                logger.notice(
                    "self-sourced SYN drop finding closed after a quiet period", metadata: ["frontend": "\(key)", "count": "\(count)"])
            }
        }
    }
}
