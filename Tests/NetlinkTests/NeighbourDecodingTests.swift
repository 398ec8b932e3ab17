import Testing

@testable import Netlink

/// `RTM_NEWNEIGH` as `ip neigh get 10.4.2.1 dev net1` answers it for an entry that failed
/// (ndmsg: family 2, ifindex 3, state NUD_FAILED; NDA_DST 10.4.2.1), and the request.
@Suite("Neighbour decoding")
struct NeighbourDecodingTests {
    static func payload(state: UInt16, link: [UInt8]? = nil) -> [UInt8] {
        var bytes: [UInt8] = [2, 0, 0, 0] + withUnsafeBytes(of: Int32(3), Array.init) + withUnsafeBytes(of: state, Array.init) + [0, 1]
        bytes += withUnsafeBytes(of: UInt16(8), Array.init) + withUnsafeBytes(of: UInt16(1), Array.init) + [10, 4, 2, 1]
        if let link {
            bytes += withUnsafeBytes(of: UInt16(4 + link.count), Array.init) + withUnsafeBytes(of: UInt16(2), Array.init) + link
            bytes += Array(repeating: 0, count: (4 - link.count % 4) % 4)
        }
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> Result<Neighbour, DecodeError> {
        bytes.withUnsafeBytes { raw in
            do throws(DecodeError) {
                return .success(try Neighbour(payload: ByteReader(raw)))
            } catch {
                return .failure(error)
            }
        }
    }

    @Test func aFailedEntryDecodes() throws {
        let bytes = Self.payload(state: 0x20)
        let neighbour = try Self.decode(bytes).get()
        #expect(neighbour.interface == InterfaceIndex(3))
        #expect(neighbour.state == .failed)
        #expect(neighbour.address == IPAddress("10.4.2.1"))
        #expect(neighbour.linkAddress == nil)
        #expect("\(neighbour.state)" == "FAILED")
    }

    @Test func aReachableEntryCarriesItsLinkAddress() throws {
        let mac: [UInt8] = [0x02, 0, 0, 0, 0, 0x01]
        let bytes = Self.payload(state: 0x02, link: mac)
        let neighbour = try Self.decode(bytes).get()
        #expect(neighbour.state == .reachable)
        #expect(neighbour.linkAddress == mac)
    }

    @Test func aTruncatedHeaderIsAClearError() {
        let bytes: [UInt8] = [2, 0, 0, 0, 3]
        guard case .failure(let error) = Self.decode(bytes) else {
            Issue.record("a five-byte ndmsg decoded")
            return
        }
        #expect("\(error)".contains("ndmsg truncated"), "\(error)")
    }

    @Test func theDumpAsksForBothFamilies() {
        let bytes = NetlinkRequest.dumpNeighbours().finish(sequence: 1)
        #expect(bytes[4] == 30, "RTM_GETNEIGH")
        #expect(bytes[6] & 0x01 == 0x01 && bytes[7] & 0x03 == 0x03, "NLM_F_REQUEST | NLM_F_DUMP")
        #expect(Array(bytes[16..<28]) == [UInt8](repeating: 0, count: 12), "AF_UNSPEC: ARP and ND")
    }

    /// As a message on the subscription: new and deleted entries are events; the bridge
    /// forwarding database rides the same group and is skipped, not an error.
    static func event(type: UInt16, payload: [UInt8]) throws -> RtnetlinkEvent? {
        var bytes: [UInt8] = []
        NetlinkHeader(length: UInt32(16 + payload.count), type: type, flags: [], sequence: 0, portID: 0).encode(into: &bytes)
        bytes += payload
        return try bytes.withUnsafeBytes { raw throws -> RtnetlinkEvent? in
            var iterator = MessageIterator(raw)
            guard let message = try iterator.next() else { return nil }
            return try RtnetlinkEvent(message)
        }
    }

    @Test func newAndDeletedEntriesAreEventsAndBridgeEntriesAreSkipped() throws {
        let failed = try Self.decode(Self.payload(state: 0x20)).get()
        #expect(try Self.event(type: 28, payload: Self.payload(state: 0x20)) == .neighbourChanged(failed))
        #expect(try Self.event(type: 29, payload: Self.payload(state: 0x20)) == .neighbourRemoved(failed))
        var bridge = Self.payload(state: 0x02)
        bridge[0] = 7  // AF_BRIDGE
        #expect(try Self.event(type: 28, payload: bridge) == nil)
    }

    @Test func theProxyFlagIsRead() throws {
        var bytes = Self.payload(state: 0x00)
        bytes[10] = 0x08  // NTF_PROXY
        #expect(try Self.decode(bytes).get().isProxy)
        #expect(try !Self.decode(Self.payload(state: 0x20)).get().isProxy)
    }

    @Test func aWrongSizedAddressIsAClearError() {
        var bytes = Self.payload(state: 0x20)
        bytes[0] = 10  // AF_INET6 with a four-byte NDA_DST
        guard case .failure = Self.decode(bytes) else {
            Issue.record("a four-byte IPv6 address decoded")
            return
        }
    }
}
