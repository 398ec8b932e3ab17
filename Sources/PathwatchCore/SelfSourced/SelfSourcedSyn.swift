import Netlink

/// One logged SYN whose source is this node's own address, arriving from outside: the
/// instance hairpin's packet, with what the probe and conntrack could tell about it.
public struct SelfSourcedSyn: Sendable, Hashable {
    public typealias Endpoint = HairpinCorrelator.Endpoint
    /// The node's own socket that sent the SYN out (`S:p`).
    public var source: Endpoint
    /// Where the balancer sent it back to (`L:lp`, also local).
    public var target: Endpoint
    /// The frontend the socket connected to (`F:fp`), when conntrack still holds its flow.
    public var frontend: Endpoint?
    public var interface: String?
    /// The sender's link-layer address: the balancer or the router in front of it.
    public var senderMAC: String?
    /// TCP (a SYN) or UDP (any datagram).
    public var protocolNumber: IPProtocolNumber
    /// The pod behind `source` when conntrack shows its flow masqueraded to the node's address
    /// (the flow's original source); nil for the node's own sockets. Names the client pod.
    public var client: IPAddress?

    public init(
        source: Endpoint, target: Endpoint, frontend: Endpoint?, interface: String?, senderMAC: String?,
        protocolNumber: IPProtocolNumber = .tcp
    ) {
        self.protocolNumber = protocolNumber
        self.source = source
        self.target = target
        self.frontend = frontend
        self.interface = interface
        self.senderMAC = senderMAC
    }

    /// Builds the observation from a logged packet; nil unless it is a TCP SYN or a UDP
    /// datagram, with ports.
    public init?(packet: NflogPacket, frontend: Endpoint?, interface: String?) {
        guard let header = packet.header, header.isTCPSyn || header.protocolNumber == .udp, let sourcePort = header.sourcePort,
            let targetPort = header.destinationPort
        else { return nil }
        self.init(
            source: Endpoint(address: header.source, port: sourcePort), target: Endpoint(address: header.destination, port: targetPort),
            frontend: frontend, interface: interface, senderMAC: packet.hardwareAddress.flatMap(Link.macString),
            protocolNumber: header.protocolNumber)
    }

    /// The frontend of a self-sourced SYN: the destination of the node's own outbound flow with
    /// the same source address and port, which a balancer that keeps the client address
    /// returned to the node. The node's address and port are in the flow's original tuple, or
    /// only in its reply tuple when a pod's flow was masqueraded to them. Among several (a
    /// reused port), an unanswered one wins, then the most recent (highest conntrack id).
    public static func frontend(
        of header: IPPacketHeader, among flows: [ConntrackFlow], isLocal: (IPAddress) -> Bool
    ) -> Endpoint? {
        let candidates = flows.filter { flow in
            let (o, r) = (flow.original, flow.reply)
            guard o.protocolNumber == header.protocolNumber, o.destinationPort != nil, !isLocal(o.destination) else { return false }
            let direct = o.source == header.source && o.sourcePort == header.sourcePort
            let masqueraded = r.destination == header.source && r.destinationPort == header.sourcePort
            return direct || masqueraded
        }
        let best = candidates.max { a, b in
            let aUnanswered = !a.status.contains(.seenReply)
            let bUnanswered = !b.status.contains(.seenReply)
            if aUnanswered != bUnanswered { return bUnanswered }
            return (a.id ?? 0) < (b.id ?? 0)
        }
        guard let best, let port = best.original.destinationPort else { return nil }
        return Endpoint(address: best.original.destination, port: port)
    }

    /// The pod whose flow to `frontend` was masqueraded to the SYN's source: the original source
    /// of that flow when it is not the SYN's own (a SYN from the node's own socket has none).
    public static func masqueradedClient(
        of header: IPPacketHeader, to frontend: Endpoint, among flows: [ConntrackFlow]
    ) -> IPAddress? {
        flows.first { flow in
            flow.original.destination == frontend.address && flow.original.destinationPort == frontend.port
                && flow.reply.destination == header.source && flow.reply.destinationPort == header.sourcePort
                && flow.original.source != header.source
        }?.original.source
    }
}
