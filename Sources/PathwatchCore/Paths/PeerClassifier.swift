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

    /// `::ffff:a.b.c.d` as `a.b.c.d`; any other address unchanged.
    public static func unmapped(_ address: IPAddress) -> IPAddress {
        if case .v6(0, let low) = address, low >> 32 == 0xFFFF { return .v4(UInt32(truncatingIfNeeded: low)) }
        return address
    }
}
