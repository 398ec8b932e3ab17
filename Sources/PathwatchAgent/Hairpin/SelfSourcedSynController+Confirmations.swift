import Netlink
import PathwatchCore

/// Probe packets the kernel may still deliver wait a moment for conntrack's word
/// (``ReversePathConfirmations``): a flow conntrack never confirmed died on this node (a
/// raw-table rpfilter rule, a firewall) and is a hairpin that hurts; a confirmed one is left to
/// the conntrack correlator, which needs evidence of harm. Nothing waits, nothing is due: an idle
/// agent keeps sleeping without a limit.
extension SelfSourcedSynController {
    func hold(_ match: HairpinCorrelator.Match, family: AddressFamily, interface: String?, rpFilter: Int?, at now: Instant) {
        guard case .full(let first) = confirmations.hold(match, family: family, interface: interface, rpFilter: rpFilter, at: now)
        else { return }
        let overflowed = confirmations.overflowed
        slice.update { _, s in s.confirmationOverflows = overflowed }
        if first {
            logger.warning(
                "too many probe packets wait for conntrack's confirmation; the rest are left to the conntrack correlator until they drain",
                metadata: ["capacity": "\(confirmations.capacity)", "source": "\(match.source)", "frontend": "\(match.frontend)"])
        }
    }

    /// Judges the held packets that are due: one kernel-filtered conntrack lookup by source each.
    /// Without the probe (dropped meanwhile) nothing can judge them: they are forgotten. A lookup
    /// that fails leaves the packet to the conntrack correlator (never a finding on no evidence).
    func confirmDue(at now: Instant) {
        guard let due = confirmations.nextDue, now >= due else { return }
        guard let active = probe, let report = sources.podHairpin else {
            confirmations.removeAll()
            return
        }
        for pending in confirmations.takeDue(at: now) {
            let match = pending.match
            guard
                let flows = try? active.flows(from: match.source.address, port: match.source.port, protocolNumber: match.protocolNumber)
            else { continue }
            let confirmed = ReversePathConfirmations.isConfirmed(pending, among: flows)
            slice.update { _, s in
                if confirmed { s.confirmedReversePath += 1 } else { s.unconfirmedReversePath += 1 }
            }
            guard !confirmed else { continue }
            report(
                match,
                ReversePathVerdict.unconfirmedOrigin(
                    family: pending.family, interface: pending.interface, rpFilter: pending.rpFilter, udp: match.protocolNumber == .udp,
                    after: confirmations.delay))
        }
    }
}
