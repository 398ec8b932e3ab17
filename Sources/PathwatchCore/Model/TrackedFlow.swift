import Netlink

/// What the detectors read of a conntrack entry: the original tuple, the status word and the
/// TCP state. Counters, timestamps, marks, zones and the reply tuple are not kept: no detector
/// reads them from the table (the self-sourced SYN probe asks the kernel for the reply tuple of
/// the one flow it names), and on a node with a million flows they would be most of the cost.
public struct TrackedFlow: Hashable, Sendable {
    public var original: TrackedTuple
    public var status: ConntrackStatus
    public var tcpState: TCPConntrackState?

    public init(original: TrackedTuple, status: ConntrackStatus, tcpState: TCPConntrackState?) {
        self.original = original
        self.status = status
        self.tcpState = tcpState
    }

    public init(_ flow: ConntrackFlow) {
        self.init(original: TrackedTuple(flow.original), status: flow.status, tcpState: flow.tcpState)
    }
}

/// The original direction of a tracked flow.
public struct TrackedTuple: Hashable, Sendable, CustomStringConvertible {
    public var source: IPAddress
    public var destination: IPAddress
    public var protocolNumber: IPProtocolNumber
    /// Present for protocols with ports (TCP, UDP, UDP-Lite, SCTP, DCCP).
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?

    public init(
        source: IPAddress, destination: IPAddress, protocolNumber: IPProtocolNumber, sourcePort: UInt16? = nil,
        destinationPort: UInt16? = nil
    ) {
        self.source = source
        self.destination = destination
        self.protocolNumber = protocolNumber
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }

    public init(_ tuple: FlowTuple) {
        self.init(
            source: tuple.source, destination: tuple.destination, protocolNumber: tuple.protocolNumber, sourcePort: tuple.sourcePort,
            destinationPort: tuple.destinationPort)
    }

    public var description: String {
        let ports = sourcePort.map { ":\($0)" } ?? ""
        let destinationPorts = destinationPort.map { ":\($0)" } ?? ""
        return "\(source)\(ports) -> \(destination)\(destinationPorts)"
    }
}

/// The packed forms the table stores: 20 bytes for an IPv4 flow, 44 for an IPv6 one, no
/// optionals or enums with payloads, so a dictionary of them carries no padding worth the name.
struct PackedFlowV4: Sendable {
    var source: UInt32
    var destination: UInt32
    var sourcePort: UInt16
    var destinationPort: UInt16
    var status: UInt32
    var protocolNumber: UInt8
    var tcpState: UInt8
    var flags: PackedFlowFlags
}

struct PackedFlowV6: Sendable {
    var source: (UInt32, UInt32, UInt32, UInt32)
    var destination: (UInt32, UInt32, UInt32, UInt32)
    var sourcePort: UInt16
    var destinationPort: UInt16
    var status: UInt32
    var protocolNumber: UInt8
    var tcpState: UInt8
    var flags: PackedFlowFlags
}

/// Which optional fields a packed flow has.
struct PackedFlowFlags: OptionSet, Hashable, Sendable {
    var rawValue: UInt8
    static let hasSourcePort = PackedFlowFlags(rawValue: 1 << 0)
    static let hasDestinationPort = PackedFlowFlags(rawValue: 1 << 1)
    static let hasTCPState = PackedFlowFlags(rawValue: 1 << 2)
}

extension TrackedFlow {
    /// Bytes the table stores per IPv4 flow (benchmarks report it).
    public static var packedStrideV4: Int { MemoryLayout<PackedFlowV4>.stride }
    /// Bytes the table stores per IPv6 flow.
    public static var packedStrideV6: Int { MemoryLayout<PackedFlowV6>.stride }

    var packedFlags: PackedFlowFlags {
        var flags: PackedFlowFlags = []
        if original.sourcePort != nil { flags.insert(.hasSourcePort) }
        if original.destinationPort != nil { flags.insert(.hasDestinationPort) }
        if tcpState != nil { flags.insert(.hasTCPState) }
        return flags
    }

    /// The IPv4 packing, or nil for an IPv6 flow (or a mixed tuple, which the kernel never sends).
    var packedV4: PackedFlowV4? {
        guard case .v4(let source) = original.source, case .v4(let destination) = original.destination else { return nil }
        return PackedFlowV4(
            source: source, destination: destination, sourcePort: original.sourcePort ?? 0,
            destinationPort: original.destinationPort ?? 0, status: status.rawValue, protocolNumber: original.protocolNumber.rawValue,
            tcpState: tcpState?.rawValue ?? 0, flags: packedFlags)
    }

    var packedV6: PackedFlowV6? {
        guard case .v6(let sh, let sl) = original.source, case .v6(let dh, let dl) = original.destination else { return nil }
        return PackedFlowV6(
            source: Self.words(sh, sl), destination: Self.words(dh, dl), sourcePort: original.sourcePort ?? 0,
            destinationPort: original.destinationPort ?? 0, status: status.rawValue, protocolNumber: original.protocolNumber.rawValue,
            tcpState: tcpState?.rawValue ?? 0, flags: packedFlags)
    }

    private static func words(_ high: UInt64, _ low: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        (
            UInt32(truncatingIfNeeded: high >> 32), UInt32(truncatingIfNeeded: high), UInt32(truncatingIfNeeded: low >> 32),
            UInt32(truncatingIfNeeded: low)
        )
    }

    init(_ packed: PackedFlowV4) {
        self.init(
            original: TrackedTuple(
                source: .v4(packed.source), destination: .v4(packed.destination),
                protocolNumber: IPProtocolNumber(rawValue: packed.protocolNumber),
                sourcePort: packed.flags.contains(.hasSourcePort) ? packed.sourcePort : nil,
                destinationPort: packed.flags.contains(.hasDestinationPort) ? packed.destinationPort : nil),
            status: ConntrackStatus(rawValue: packed.status),
            tcpState: packed.flags.contains(.hasTCPState) ? TCPConntrackState(rawValue: packed.tcpState) : nil)
    }

    init(_ packed: PackedFlowV6) {
        func address(_ w: (UInt32, UInt32, UInt32, UInt32)) -> IPAddress {
            .v6(UInt64(w.0) << 32 | UInt64(w.1), UInt64(w.2) << 32 | UInt64(w.3))
        }
        self.init(
            original: TrackedTuple(
                source: address(packed.source), destination: address(packed.destination),
                protocolNumber: IPProtocolNumber(rawValue: packed.protocolNumber),
                sourcePort: packed.flags.contains(.hasSourcePort) ? packed.sourcePort : nil,
                destinationPort: packed.flags.contains(.hasDestinationPort) ? packed.destinationPort : nil),
            status: ConntrackStatus(rawValue: packed.status),
            tcpState: packed.flags.contains(.hasTCPState) ? TCPConntrackState(rawValue: packed.tcpState) : nil)
    }
}
