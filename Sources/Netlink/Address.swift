/// An interface address as `RTM_NEWADDR` describes it.
public struct InterfaceAddress: Hashable, Sendable {
    public var family: AddressFamily
    public var interface: InterfaceIndex
    /// The local address (`IFA_LOCAL`, or `IFA_ADDRESS` when there is no separate local one).
    public var address: IPAddress
    public var prefixLength: Int
    public var scope: UInt8
    /// `IFA_FLAGS` (or `ifa_flags`): secondary, tentative, deprecated, …
    public var flags: UInt32
    public var label: String?

    public init(
        family: AddressFamily? = nil, interface: InterfaceIndex, address: IPAddress, prefixLength: Int,
        scope: UInt8 = 0, flags: UInt32 = 0, label: String? = nil
    ) {
        self.family = family ?? address.family
        self.interface = interface
        self.address = address
        self.prefixLength = prefixLength
        self.scope = scope
        self.flags = flags
        self.label = label
    }

    /// The subnet this address sits in, e.g. `10.4.2.0/24` for `10.4.2.10/24`.
    public var subnet: IPPrefix { IPPrefix(address: address.masked(to: prefixLength), length: prefixLength) }

    /// Identity in the kernel: the same address may sit on two interfaces.
    public struct Key: Hashable, Sendable {
        public var interface: InterfaceIndex
        public var address: IPAddress
        public var prefixLength: Int
    }

    public var key: Key { Key(interface: interface, address: address, prefixLength: prefixLength) }

    /// Decodes the payload of `RTM_NEWADDR`/`RTM_DELADDR` (`struct ifaddrmsg` + attributes).
    public init(payload p: ByteReader) throws(DecodeError) {
        let c = "RTM_NEWADDR"
        family = AddressFamily(rawValue: try p.u8(at: 0, c))
        prefixLength = Int(try p.u8(at: 1, c))
        var flags = UInt32(try p.u8(at: 2, c))
        scope = try p.u8(at: 3, c)
        interface = InterfaceIndex(Int32(bitPattern: try p.u32Host(at: 4, c)))
        var address: IPAddress?
        var local: IPAddress?
        var label: String?
        try p.slice(8, p.count - 8, c).forEachAttribute(c) { a throws(DecodeError) in
            switch a.type {
            case 1: address = try IPAddress(networkBytes: a.payload, "IFA_ADDRESS")
            case 2: local = try IPAddress(networkBytes: a.payload, "IFA_LOCAL")
            case 3: label = a.string()
            case 8: flags = try a.u32Host("IFA_FLAGS")
            default: break
            }
        }
        guard let resolved = local ?? address else { throw DecodeError(c, "no IFA_LOCAL or IFA_ADDRESS", offset: p.baseOffset) }
        self.address = resolved
        self.flags = flags
        self.label = label
    }
}
