/// One direction of a conntrack entry (`CTA_TUPLE_ORIG` / `CTA_TUPLE_REPLY`).
public struct FlowTuple: Hashable, Sendable, CustomStringConvertible {
    public var source: IPAddress
    public var destination: IPAddress
    /// `CTA_PROTO_NUM`.
    public var protocolNumber: IPProtocolNumber
    /// `CTA_PROTO_SRC_PORT`: TCP, UDP, UDP-Lite, SCTP and DCCP tuples carry ports.
    public var sourcePort: UInt16?
    /// `CTA_PROTO_DST_PORT`.
    public var destinationPort: UInt16?
    /// `CTA_PROTO_ICMP_ID` or `CTA_PROTO_ICMPV6_ID`.
    public var icmpID: UInt16?
    /// `CTA_PROTO_ICMP_TYPE` or `CTA_PROTO_ICMPV6_TYPE`.
    public var icmpType: UInt8?
    /// `CTA_PROTO_ICMP_CODE` or `CTA_PROTO_ICMPV6_CODE`.
    public var icmpCode: UInt8?
    /// `CTA_TUPLE_ZONE`: only for directional zones.
    public var zone: UInt16?

    public init(
        source: IPAddress, destination: IPAddress, protocolNumber: IPProtocolNumber,
        sourcePort: UInt16? = nil, destinationPort: UInt16? = nil,
        icmpID: UInt16? = nil, icmpType: UInt8? = nil, icmpCode: UInt8? = nil, zone: UInt16? = nil
    ) {
        self.source = source
        self.destination = destination
        self.protocolNumber = protocolNumber
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.icmpID = icmpID
        self.icmpType = icmpType
        self.icmpCode = icmpCode
        self.zone = zone
    }

    /// Decodes the payload of a `CTA_TUPLE_*` nest. All values are in network byte order.
    public init(_ reader: ByteReader, _ context: String) throws(DecodeError) {
        var source: IPAddress?
        var destination: IPAddress?
        var protocolNumber: IPProtocolNumber?
        var sourcePort: UInt16?
        var destinationPort: UInt16?
        var icmpID: UInt16?
        var icmpType: UInt8?
        var icmpCode: UInt8?
        var zone: UInt16?
        try reader.forEachAttribute(context) { a throws(DecodeError) in
            switch a.type {
            case 1:  // CTA_TUPLE_IP
                try a.payload.forEachAttribute("CTA_TUPLE_IP") { ip throws(DecodeError) in
                    switch ip.type {
                    case 1: source = try FlowTuple.address(ip, width: 4, "CTA_IP_V4_SRC")
                    case 2: destination = try FlowTuple.address(ip, width: 4, "CTA_IP_V4_DST")
                    case 3: source = try FlowTuple.address(ip, width: 16, "CTA_IP_V6_SRC")
                    case 4: destination = try FlowTuple.address(ip, width: 16, "CTA_IP_V6_DST")
                    default: break
                    }
                }
            case 2:  // CTA_TUPLE_PROTO
                try a.payload.forEachAttribute("CTA_TUPLE_PROTO") { p throws(DecodeError) in
                    switch p.type {
                    case 1: protocolNumber = IPProtocolNumber(rawValue: try p.u8("CTA_PROTO_NUM"))
                    case 2: sourcePort = try p.u16Network("CTA_PROTO_SRC_PORT")
                    case 3: destinationPort = try p.u16Network("CTA_PROTO_DST_PORT")
                    case 4: icmpID = try p.u16Network("CTA_PROTO_ICMP_ID")
                    case 5: icmpType = try p.u8("CTA_PROTO_ICMP_TYPE")
                    case 6: icmpCode = try p.u8("CTA_PROTO_ICMP_CODE")
                    case 7: icmpID = try p.u16Network("CTA_PROTO_ICMPV6_ID")
                    case 8: icmpType = try p.u8("CTA_PROTO_ICMPV6_TYPE")
                    case 9: icmpCode = try p.u8("CTA_PROTO_ICMPV6_CODE")
                    default: break
                    }
                }
            case 3: zone = try a.u16Network("\(context) CTA_TUPLE_ZONE")
            default: break
            }
        }
        guard let source, let destination else {
            throw DecodeError(context, "CTA_TUPLE_IP lacks a source or destination address", offset: reader.baseOffset)
        }
        guard source.family == destination.family else {
            throw DecodeError(context, "source and destination address families differ", offset: reader.baseOffset)
        }
        guard let protocolNumber else {
            throw DecodeError(context, "CTA_TUPLE_PROTO lacks CTA_PROTO_NUM", offset: reader.baseOffset)
        }
        self.init(
            source: source, destination: destination, protocolNumber: protocolNumber,
            sourcePort: sourcePort, destinationPort: destinationPort,
            icmpID: icmpID, icmpType: icmpType, icmpCode: icmpCode, zone: zone
        )
    }

    private static func address(_ a: Attribute, width: Int, _ context: String) throws(DecodeError) -> IPAddress {
        guard a.payload.count == width else {
            throw DecodeError(context, "address of \(a.payload.count) bytes, expected \(width)", offset: a.payload.baseOffset)
        }
        return try IPAddress(networkBytes: a.payload, context)
    }

    /// `src=… dst=… sport=… dport=…`, as `conntrack -L` prints a tuple.
    public var description: String {
        var text = "\(protocolNumber) src=\(source) dst=\(destination)"
        if let sourcePort { text += " sport=\(sourcePort)" }
        if let destinationPort { text += " dport=\(destinationPort)" }
        if let icmpType { text += " type=\(icmpType)" }
        if let icmpCode { text += " code=\(icmpCode)" }
        if let icmpID { text += " id=\(icmpID)" }
        if let zone { text += " zone=\(zone)" }
        return text
    }
}
