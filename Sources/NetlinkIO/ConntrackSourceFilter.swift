import CNetlink
import Glibc
import Netlink

extension ConntrackEventSocket {
    /// libnetfilter_conntrack's limit for one socket filter (`__FILTER_ADDR_MAX`): prefixes
    /// beyond it are silently ignored by the library, so the caller aggregates to stay within it.
    public static let maxIPv4SourcePrefixes = 127
    /// The library takes 20 IPv6 prefixes, but in the version Debian 12 ships (1.0.9) only the
    /// first one works: a mismatch in any of an address's first three words jumps past every
    /// later address (netfilter bugzilla 1062, fixed upstream after 1.0.9; measured here by
    /// `ConntrackSourceFilterTests`). One prefix is what it can keep, so callers give one
    /// covering prefix for IPv6, or none (IPv6 unfiltered).
    public static let maxIPv6SourcePrefixes = 1

    /// Drops, in the kernel, every event whose original source is in none of `prefixes`
    /// (libnetfilter_conntrack's `nfct_filter`, a classic BPF program on this socket): events no
    /// detector reads never cross into user space. A family without prefixes is not filtered.
    /// Replacing the filter is atomic (`SO_ATTACH_FILTER`), so no event slips between two.
    public func attachSourceFilter(_ prefixes: [IPPrefix]) throws(NetlinkError) {
        var v4Addresses: [UInt32] = []
        var v4Masks: [UInt32] = []
        var v6Addresses: [UInt32] = []
        var v6Masks: [UInt32] = []
        for prefix in prefixes {
            switch prefix.address.masked(to: prefix.length) {
            case .v4(let address):
                v4Addresses.append(address)
                v4Masks.append(prefix.length == 0 ? 0 : UInt32.max << (32 - prefix.length))
            case .v6(let high, let low):
                v6Addresses += Self.words(high, low)
                let mask = IPAddress.v6(UInt64.max, UInt64.max).masked(to: prefix.length)
                if case .v6(let mh, let ml) = mask { v6Masks += Self.words(mh, ml) }
            }
        }
        guard v4Addresses.count <= Self.maxIPv4SourcePrefixes, v6Addresses.count / 4 <= Self.maxIPv6SourcePrefixes else {
            throw NetlinkError(
                "attach conntrack source filter",
                .protocolViolation("\(v4Addresses.count) IPv4 and \(v6Addresses.count / 4) IPv6 prefixes exceed the filter's limits"))
        }
        let fd = socket.fileDescriptor
        let result = cnl_attach_conntrack_source_filter(
            fd, v4Addresses, v4Masks, v4Addresses.count, v6Addresses, v6Masks, v6Addresses.count / 4)
        if result != 0 { throw NetlinkError("attach conntrack source filter (SO_ATTACH_FILTER)", .system(.current)) }
    }

    /// Removes the source filter: every event is delivered again.
    public func detachSourceFilter() throws(NetlinkError) {
        if cnl_detach_conntrack_filter(socket.fileDescriptor) != 0 {
            throw NetlinkError("detach conntrack source filter (SO_DETACH_FILTER)", .system(.current))
        }
    }

    private static func words(_ high: UInt64, _ low: UInt64) -> [UInt32] {
        [
            UInt32(truncatingIfNeeded: high >> 32), UInt32(truncatingIfNeeded: high), UInt32(truncatingIfNeeded: low >> 32),
            UInt32(truncatingIfNeeded: low),
        ]
    }
}
