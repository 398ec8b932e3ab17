import Foundation
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

    public init(source: Endpoint, target: Endpoint, frontend: Endpoint?, interface: String?, senderMAC: String?) {
        self.source = source
        self.target = target
        self.frontend = frontend
        self.interface = interface
        self.senderMAC = senderMAC
    }

    /// Builds the observation from a logged packet; nil unless it is a TCP SYN with ports.
    public init?(packet: NflogPacket, frontend: Endpoint?, interface: String?) {
        guard let header = packet.header, header.isTCPSyn, let sourcePort = header.sourcePort, let targetPort = header.destinationPort
        else { return nil }
        self.init(
            source: Endpoint(address: header.source, port: sourcePort), target: Endpoint(address: header.destination, port: targetPort),
            frontend: frontend, interface: interface, senderMAC: packet.hardwareAddress.flatMap(Link.macString))
    }

    /// The frontend of a self-sourced SYN: the destination of the node's own outbound flow with
    /// the same source address and port, which a balancer that keeps the client address
    /// returned to the node. Among several (a reused port), an unanswered one wins, then the
    /// most recent (highest conntrack id).
    public static func frontend(
        of header: IPPacketHeader, among flows: [ConntrackFlow], isLocal: (IPAddress) -> Bool
    ) -> Endpoint? {
        let candidates = flows.filter { flow in
            let o = flow.original
            return o.source == header.source && o.sourcePort == header.sourcePort && o.protocolNumber == header.protocolNumber
                && o.destinationPort != nil && !isLocal(o.destination)
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

}

/// What a `self_sourced_syn_drop` finding says about one frontend (or about SYNs whose
/// frontend could not be named): bounded lists, so a storm of ports cannot grow it.
public struct SelfSourcedSynEvidence: Sendable, Hashable {
    public private(set) var loggedSyns = 0
    public private(set) var sources: [String] = []
    public private(set) var targets: [String] = []
    public private(set) var interfaces: [String] = []
    public private(set) var senderMACs: [String] = []
    public private(set) var samples: [String] = []
    public static let listLimit = 5

    public init() {}

    /// The finding key: one finding per frontend.
    public static func key(for syn: SelfSourcedSyn) -> String { syn.frontend?.description ?? unknownFrontend }
    public static let unknownFrontend = "unknown"

    public mutating func add(_ syn: SelfSourcedSyn) {
        loggedSyns += 1
        sources.appendOnce(syn.source.description, limit: Self.listLimit)
        targets.appendOnce(syn.target.description, limit: Self.listLimit)
        if let interface = syn.interface { interfaces.appendOnce(interface, limit: Self.listLimit) }
        if let mac = syn.senderMAC { senderMACs.appendOnce(mac, limit: Self.listLimit) }
        let via = [syn.interface.map { " on \($0)" }, syn.senderMAC.map { " from \($0)" }].compactMap { $0 }.joined()
        samples.appendKeepingLast("\(syn.source) -> \(syn.frontend?.description ?? "?") -> \(syn.target)\(via)", limit: Self.listLimit)
    }

    public func summary(frontend key: String) -> String {
        let through =
            key == Self.unknownFrontend
            ? "through a frontend conntrack could not name (no outbound flow with the same source port)" : "through frontend \(key)"
        return
            "SYNs this node sent \(through) come back with its own source address (\(sources.joined(separator: ", ")) → \(targets.joined(separator: ", "))) and fail (IPv4 drops them as martian sources; over IPv6 the answer goes to the wrong socket): the load balancer keeps the client address and sends the node's own connections back to it (instance hairpin); \(loggedSyns) logged"
    }

    public func json(frontend key: String, detection: String) -> [String: JSONValue] {
        [
            "frontend": key == Self.unknownFrontend ? .null : .string(key), "protocol": .string("tcp"),
            "sourceEndpoints": .array(sources.map { .string($0) }), "localTargets": .array(targets.map { .string($0) }),
            "interfaces": .array(interfaces.map { .string($0) }), "senderMACs": .array(senderMACs.map { .string($0) }),
            "samples": .array(samples.map { .string($0) }), "loggedSyns": .number(Double(loggedSyns)), "detection": .string(detection),
        ]
    }
}
