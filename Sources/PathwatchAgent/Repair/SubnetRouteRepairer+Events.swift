import FoundationEssentials
import Logging
import Netlink
import PathwatchCore

extension SubnetRouteRepairer {
    /// The on-link signature from the neighbour table: one finding per interface, closed when
    /// the lookup no longer leaves on-link (whoever fixed it).
    func report(_ tick: (reports: [OnLinkNeighbourReport], cleared: [String])) {
        for report in tick.reports {
            let new = findings.report(
                kind: .missingSubnetRoute, key: report.key, summary: report.summary, evidence: report.evidence,
                remediation: report.remediation, at: Date(), occurrences: report.opened ? 1 : 0)
            if new {
                logger.warning(
                    "addresses outside the interface's subnets do not answer ARP/ND: an on-link route to another subnet",
                    metadata: [
                        "interface": "\(report.evidence.interface)", "first": "\(report.evidence.addresses.first ?? "")",
                        "unanswered": "\(report.evidence.unanswered)",
                    ])
            }
        }
        for interface in tick.cleared {
            if findings.clear(kind: .missingSubnetRoute, key: OnLinkNeighbourScan.key(interface)) != nil {
                logger.notice("the on-link route to another subnet is gone; finding closed", metadata: ["interface": "\(interface)"])
            }
        }
    }

    /// One evaluation's outcome as findings and log lines; every kernel change is an `audit:`
    /// line, every state change of a repair one line (not one per evaluation).
    func handle(_ event: SubnetRouteEvent, names: [InterfaceIndex: String]) {
        switch event {
        case .finding(let report, let opened):
            let new = findings.report(
                kind: .missingSubnetRoute, key: report.id.description, summary: report.summary, evidence: report.evidence,
                remediation: report.remediation, at: Date(), occurrences: opened ? 1 : 0)
            if new {
                logger.warning(
                    "missing subnet route",
                    metadata: [
                        "interface": "\(report.id.interface)", "destination": "\(report.id.destination)",
                        "observed": "\(report.evidence.lookup)", "fix": "\(report.remediation.commands.joined(separator: "; "))",
                    ])
            }
        case .cleared(let id, let stillExpected):
            if findings.clear(kind: .missingSubnetRoute, key: id.description) != nil, stillExpected {
                logger.notice(
                    "subnet route holds again; finding closed",
                    metadata: ["interface": "\(id.interface)", "destination": "\(id.destination)"])
            }
        case .removedByOthers(let e, let removals):
            logger.warning(
                "a route pathwatch installed was removed by someone else",
                metadata: ["interface": "\(e.interface)", "destination": "\(e.destination)", "removals": "\(removals)"])
        case .wouldChange(let e, let changes):
            for change in changes {
                logger.notice(
                    "dry-run: would run", metadata: ["command": "\(change.command(names: names))", "interface": "\(e.interface)"])
            }
        case .conflict(let e, let conflict):
            logger.warning("not repairing: \(conflict)", metadata: ["interface": "\(e.interface)", "destination": "\(e.destination)"])
        case .flapping(let e, let installs, let cause):
            logger.error(
                "repair does not hold; pathwatch stops re-installing it",
                metadata: [
                    "interface": "\(e.interface)", "destination": "\(e.destination)", "installs": "\(installs)", "likely_cause": "\(cause)",
                ])
        case .changed(let change, let e):
            logger.notice(
                "audit: route change made", metadata: ["command": "\(change.command(names: names))", "interface": "\(e.interface)"])
        case .refused(let change, let refusal, let e, let retryIn):
            logger.error(
                "audit: route change refused by the kernel; backing off",
                metadata: [
                    "command": "\(change.command(names: names))", "interface": "\(e.interface)", "error": "\(refusal)",
                    "retry_in": "\(retryIn)",
                ])
        case .verified(let e):
            logger.notice("audit: repair verified", metadata: ["interface": "\(e.interface)", "destination": "\(e.destination)"])
        case .verifyFailed(let e, let observed, let retryIn):
            logger.error(
                "audit: repair did not change the route lookup; taking it back",
                metadata: [
                    "interface": "\(e.interface)", "destination": "\(e.destination)", "observed": "\(observed)", "retry_in": "\(retryIn)",
                ])
        case .rolledBack(let change):
            logger.notice("audit: route change taken back", metadata: ["command": "\(change.command(names: names))"])
        case .cleanedUp(let change):
            logger.notice("audit: removed a pathwatch route no expectation needs", metadata: ["command": "\(change.command(names: names))"])
        case .cleanupRefused(let change, let refusal):
            logger.warning(
                "audit: could not remove a pathwatch route",
                metadata: ["command": "\(change.command(names: names))", "error": "\(refusal)"])
        case .cleanupDeferred(let count):
            logger.notice(
                "keeping pathwatch routes no expectation names yet until every expectation source has answered",
                metadata: ["objects": "\(count)"])
        case .gatewayUnanswered(let report, let opened):
            let new = findings.report(
                kind: .missingSubnetRoute, key: report.id.description, summary: report.summary, evidence: report.evidence,
                remediation: report.remediation, at: Date(), occurrences: opened ? 1 : 0)
            if new {
                logger.warning(
                    "the subnet gateway does not answer",
                    metadata: [
                        "interface": "\(report.id.interface)", "gateway": "\(report.id.gateway)",
                        "state": "\(report.evidence.neighbourState)",
                    ])
            }
        case .gatewayAnswers(let id):
            if findings.clear(kind: .missingSubnetRoute, key: id.description) != nil {
                logger.notice("the subnet gateway answers again", metadata: ["interface": "\(id.interface)", "gateway": "\(id.gateway)"])
            }
        case .stoppedByModeChange(let mode):
            logger.notice("auto-fix switched to \(mode.rawValue) during an evaluation; no further changes made")
        }
    }
}
