import Netlink
import PathwatchCore

/// What the self-sourced SYN controller makes of one logged packet: an instance hairpin of the
/// node's own address (with its frontend from conntrack), or a pod's SYN dropped by the strict
/// reverse-path check (handed to the hairpin slice).
extension SelfSourcedSynController {
    func handle(_ packet: NflogPacket, probe: any SynProbeSource, at now: Instant) {
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

    /// A SYN (or UDP datagram) from a node-local endpoint that arrived from outside: a pod
    /// hairpin when conntrack names the frontend its pod was talking to and the packet dies
    /// here. IPv4 `rp_filter=1` drops it in routing: reported at once. Anything else may be
    /// delivered (and answered back through the balancer, a hairpin that works) or die in a
    /// raw-table rpfilter rule or a firewall before conntrack: held until conntrack says
    /// (``confirmDue(at:)``).
    private func reversePathDrop(_ header: IPPacketHeader, interface: String?, probe: any SynProbeSource, at now: Instant) {
        guard let report = sources.podHairpin, header.isTCPSyn || header.protocolNumber == .udp, let sourcePort = header.sourcePort,
            let targetPort = header.destinationPort,
            sources.localEndpoints().contains(header.source), let frontend = frontend(of: header, probe: probe, at: now)
        else { return }
        let match = HairpinCorrelator.Match(
            frontend: frontend, source: Endpoint(address: header.source, port: sourcePort),
            localTarget: Endpoint(address: header.destination, port: targetPort), protocolNumber: header.protocolNumber, hairpinFlowID: nil,
            time: now)
        let family = header.source.family
        let rpFilter = family == .inet ? interface.flatMap(sources.rpFilter) : nil
        guard ReversePathVerdict.dropsForCertain(family: family, rpFilter: rpFilter) else {
            hold(match, family: family, interface: interface, rpFilter: rpFilter, at: now)
            return
        }
        report(match, ReversePathVerdict.routingDropOrigin(interface: interface, udp: header.protocolNumber == .udp))
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
}
