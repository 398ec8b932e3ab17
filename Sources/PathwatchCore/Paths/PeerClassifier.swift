import Netlink

/// Which path a TCP peer is reached over, as the incident compares them: the provider's private
/// network (VPC, jump hosts, peers in the same cluster) or the public internet through the edge.
public enum PathClass: String, Sendable, CaseIterable, Hashable, Codable {
    case `public`
    case `private`
}

/// Sorts peer addresses into ``PathClass``es by configurable private ranges.
///
/// Loopback, link-local (including the cloud metadata service 169.254.169.254), unspecified and
/// multicast peers belong to neither path and are excluded. IPv4-mapped IPv6 peers
/// (`::ffff:a.b.c.d`, what dual-stack listeners see) are classified as the IPv4 address.
public struct PeerClassifier: Sendable, Equatable {
    public var privateRanges: [IPPrefix]
    /// The IPv4 prefix that makes one peer: clients behind one NAT'd office or one carrier-grade
    /// NAT pool show as several addresses of one /24, and are one peer to the verdict.
    public var peerPrefixLengthIPv4 = 24
    /// The IPv6 prefix that makes one peer: a /64 is one customer network (privacy addresses
    /// rotate inside it).
    public var peerPrefixLengthIPv6 = 64

    /// RFC 1918, RFC 6598 shared address space (carrier-grade NAT, also used inside VPCs and
    /// Kubernetes), and IPv6 unique local addresses (RFC 4193).
    public static let defaultPrivateRanges: [IPPrefix] = [
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7",
    ].map { IPPrefix($0)! }

    /// Peers on no path: loopback, link-local, unspecified, multicast.
    public static let excludedRanges: [IPPrefix] = [
        "127.0.0.0/8", "169.254.0.0/16", "0.0.0.0/8", "224.0.0.0/4", "::1/128", "::/128", "fe80::/10", "ff00::/8",
    ].map { IPPrefix($0)! }

    public init(privateRanges: [IPPrefix] = PeerClassifier.defaultPrivateRanges) {
        self.privateRanges = privateRanges
    }

    /// The path to `address`, or nil when it is on neither.
    public func classify(_ address: IPAddress) -> PathClass? {
        let peer = Self.unmapped(address)
        for range in Self.excludedRanges where range.contains(peer) { return nil }
        for range in privateRanges where range.contains(peer) { return .private }
        return .public
    }

    /// The peer `address` belongs to (IPv4-mapped addresses as IPv4).
    public func peer(_ address: IPAddress) -> PeerKey {
        let peer = Self.unmapped(address)
        let length = peer.family == .inet ? peerPrefixLengthIPv4 : peerPrefixLengthIPv6
        return PeerKey(prefix: IPPrefix(address: peer.masked(to: length), length: length))
    }

    /// `::ffff:a.b.c.d` as `a.b.c.d`; any other address unchanged.
    public static func unmapped(_ address: IPAddress) -> IPAddress {
        if case .v6(0, let low) = address, low >> 32 == 0xFFFF { return .v4(UInt32(truncatingIfNeeded: low)) }
        return address
    }
}

/// A peer as the verdict counts it: an address group (by default a /24 or a /64), so that one
/// office behind NAT is one peer however many addresses its clients show.
public struct PeerKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var prefix: IPPrefix

    public init(prefix: IPPrefix) { self.prefix = prefix }

    public var description: String { prefix.description }

    public static func < (a: PeerKey, b: PeerKey) -> Bool {
        (a.prefix.address, a.prefix.length) < (b.prefix.address, b.prefix.length)
    }
}
