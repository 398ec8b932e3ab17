import Netlink

/// Where the path slice's inputs come from: the node's TCP sockets, the kernel's TCP counters
/// and the NICs' allowance counters.
///
/// The kernel adapter (sock_diag, `/proc/net`, ethtool) is the only implementation that needs
/// root; tests feed ``PathHealthEngine`` synthetic sockets through a value of their own.
public protocol PathSampleSource {
    /// Calls `body` with every established TCP socket, one at a time; returns how many rows
    /// did not decode (skipped). Throws when the dump itself fails.
    mutating func forEachSocket(_ body: (TCPSocketRecord) -> Void) throws -> Int
    /// The kernel's cumulative TCP counters now; counters it lacks are nil.
    mutating func kernelCounters() -> KernelTCPCounters
    /// The allowance counters of the interfaces whose driver has them.
    mutating func nicAllowances() -> [NICAllowanceReading]
}

/// What the path slice wants done with the findings registry after a round.
public enum PathOutcome: Sendable {
    /// A path finding (`public_path_degraded`, `path_degraded`) opened or still open: report it.
    case path(PathFinding, opened: Bool)
    /// A peer finding (`peer_path_degraded`) opened or still open: report it.
    case peer(PeerFinding, opened: Bool)
    /// A finding that is no longer current: clear it.
    case cleared(FindingKind, key: String)
}
