/// The addresses, protocol and ports at the start of a raw IPv4 or IPv6 packet, as
/// nfnetlink_log copies it: enough to name a TCP SYN's endpoints without trusting any length in
/// it (every offset is checked against the bytes actually copied).
public struct IPPacketHeader: Sendable, Hashable {
    public var source: IPAddress
    public var destination: IPAddress
    public var protocolNumber: IPProtocolNumber
    public var sourcePort: UInt16?
    public var destinationPort: UInt16?
    /// The TCP flags byte (`FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10`), for TCP.
    public var tcpFlags: UInt8?

    public init(
        source: IPAddress, destination: IPAddress, protocolNumber: IPProtocolNumber, sourcePort: UInt16? = nil,
        destinationPort: UInt16? = nil, tcpFlags: UInt8? = nil
    ) {
        self.source = source
        self.destination = destination
        self.protocolNumber = protocolNumber
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.tcpFlags = tcpFlags
    }

    /// Whether this is a connection-opening TCP SYN (SYN set, ACK clear).
    public var isTCPSyn: Bool {
        guard protocolNumber == .tcp, let flags = tcpFlags else { return false }
        return flags & 0x12 == 0x02
    }

    public init(_ packet: ByteReader) throws(DecodeError) {
        let c = "IP packet"
        let version = try packet.u8(at: 0, c) >> 4
        var transportOffset: Int
        switch version {
        case 4:
            let headerLength = Int(try packet.u8(at: 0, c) & 0x0F) * 4
            guard headerLength >= 20 else { throw DecodeError(c, "IPv4 header length \(headerLength)", offset: packet.baseOffset) }
            protocolNumber = IPProtocolNumber(rawValue: try packet.u8(at: 9, "\(c) protocol"))
            source = try IPAddress(networkBytes: try packet.slice(12, 4, "\(c) source"), "\(c) source")
            destination = try IPAddress(networkBytes: try packet.slice(16, 4, "\(c) destination"), "\(c) destination")
            // A non-first fragment carries no transport header.
            let fragmentOffset = try packet.u16Network(at: 6, "\(c) fragment") & 0x1FFF
            transportOffset = fragmentOffset == 0 ? headerLength : -1
        case 6:
            var next = try packet.u8(at: 6, "\(c) next header")
            source = try IPAddress(networkBytes: try packet.slice(8, 16, "\(c) source"), "\(c) source")
            destination = try IPAddress(networkBytes: try packet.slice(24, 16, "\(c) destination"), "\(c) destination")
            transportOffset = 40
            // Skip a bounded number of extension headers: hop-by-hop, routing, destination
            // options (length in 8-byte units after the first 8) and fragment (fixed 8 bytes).
            var skipped = 0
            while [0, 43, 60, 44].contains(next), skipped < 8 {
                let header = next
                next = try packet.u8(at: transportOffset, "\(c) extension header")
                if header == 44 {
                    let fragmentOffset = try packet.u16Network(at: transportOffset + 2, "\(c) fragment") >> 3
                    transportOffset = fragmentOffset == 0 ? transportOffset + 8 : -1
                    if transportOffset < 0 { break }
                } else {
                    transportOffset += (Int(try packet.u8(at: transportOffset + 1, "\(c) extension length")) + 1) * 8
                }
                skipped += 1
            }
            protocolNumber = IPProtocolNumber(rawValue: next)
        default:
            throw DecodeError(c, "IP version \(version)", offset: packet.baseOffset)
        }
        guard transportOffset >= 0, [.tcp, .udp].contains(protocolNumber), transportOffset + 4 <= packet.count else { return }
        sourcePort = try packet.u16Network(at: transportOffset, "\(c) source port")
        destinationPort = try packet.u16Network(at: transportOffset + 2, "\(c) destination port")
        if protocolNumber == .tcp, transportOffset + 14 <= packet.count {
            tcpFlags = try packet.u8(at: transportOffset + 13, "\(c) TCP flags")
        }
    }
}
