import Netlink
import PathwatchCore

@testable import PathwatchAgent

struct FakeRefusal: Error {}

/// In-memory sources for the self-sourced SYN controller (the domain boundary: a probe and a
/// counter), never a mock of a socket.

/// An in-memory probe: queued packets, scripted checks, counted lookups.
final class FakeSynProbe: SynProbeSource {
    var conntrackError: (any Error)? = nil
    var packets: [NflogPacket] = []
    var checks: [SynProbeCheck] = []
    var verifyFails = false
    /// What the next receive reports besides its packets (then reset).
    var activity = SynProbeActivity()
    var receiveFails = false
    var flows: [ConntrackFlow] = []
    var lookups = 0
    var removed = false
    /// The timeouts the controller asked to wait (nil: no limit).
    var waits: [Duration?] = []
    var verifies = 0

    /// The sets' contents after each update.
    var endpointUpdates: [[AddressRange]] = []
    var touchedVerifies = 0

    func verify(touched: Bool) throws -> SynProbeCheck {
        verifies += 1
        if touched { touchedVerifies += 1 }
        if verifyFails { throw FakeRefusal() }
        return checks.isEmpty ? SynProbeCheck(reinstalled: false, matched: 0) : checks.removeFirst()
    }

    func receive(waitingUpTo timeout: Duration?, _ body: (NflogPacket) -> Void) throws -> SynProbeActivity {
        waits.append(timeout)
        if receiveFails { throw FakeRefusal() }
        let queued = packets
        packets = []
        queued.forEach(body)
        defer { activity = SynProbeActivity() }
        return activity
    }

    func flows(from address: IPAddress, port: UInt16, protocolNumber: IPProtocolNumber) throws -> [ConntrackFlow] {
        lookups += 1
        // As SynProbe does: the node's own flows and those masqueraded to the address and port.
        return flows.filter {
            ($0.original.source == address && $0.original.sourcePort == port)
                || ($0.reply.destination == address && $0.reply.destinationPort == port)
        }
    }

    func updateEndpoints(_ change: LocalEndpointSetPlanner.Change, to ranges: [AddressRange]) throws {
        endpointUpdates.append(ranges)
    }

    func remove() throws { removed = true }
}

final class FakeMartianCounter: MartianCounterSource, @unchecked Sendable {
    // Only the test's thread touches it.
    var value: UInt64? = 10
    func read() throws -> UInt64 {
        guard let value else { throw FakeRefusal() }
        return value
    }
}
