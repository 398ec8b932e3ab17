import FoundationEssentials
import Logging
import Netlink
import PathwatchCore

/// Reports flows from one interface's address that get no reply and that the kernel routes
/// out of another interface: the incident seen in live traffic, without any configuration.
/// Report-only: pathwatch does not guess which subnet to route from a single destination.
struct LiveTrafficRouteScanner {
    let state: LiveNodeState
    let findings: FindingsRegistry
    let logger: Logger
    private var unreplied: Set<UInt32> = []
    private var open: Set<LiveTrafficRouteReport.ID> = []

    init(state: LiveNodeState, findings: FindingsRegistry, logger: Logger) {
        self.state = state
        self.findings = findings
        self.logger = logger
    }

    mutating func scan(_ conntrack: LiveConntrackTable, _ table: some RouteTableClient) {
        // Read under the locks rather than copying the model: a copy held while the watcher
        // applies an event would duplicate a million-route table. Lock order: model, then table.
        let previous = unreplied
        let (candidates, unrepliedNow, names, subnets) = state.read { model in
            let (candidates, unreplied) = conntrack.read { table in
                UnrepliedFlowScan.candidates(table: table, previouslyUnreplied: previous, state: model)
            }
            let sources = Set(candidates.map(\.source))
            let subnets = Dictionary(
                model.addresses.values.filter { sources.contains($0.address) }.map { ($0.address, $0.subnet) },
                uniquingKeysWith: { a, _ in a })
            return (candidates, unreplied, model.links.mapValues(\.name), subnets)
        }
        unreplied = unrepliedNow
        var seen: Set<LiveTrafficRouteReport.ID> = []
        for candidate in candidates {
            let outcome = table.lookup(to: candidate.destination, from: candidate.source)
            let subnet = subnets[candidate.source]
            let report: LiveTrafficRouteReport
            switch UnrepliedFlowScan.misroute(candidate, lookup: outcome, sourceSubnet: subnet) {
            case .otherInterface(let out, let via):
                report = LiveTrafficRouteReport(candidate, leaves: names[out] ?? "if\(out.rawValue)", via: via, gateway: subnet?.firstHost)
            case .onLinkOutsideSubnet(let subnet):
                report = LiveTrafficRouteReport(onLink: candidate, subnet: subnet)
            case nil:
                continue
            }
            seen.insert(report.id)
            let opened = findings.report(
                kind: .missingSubnetRoute, key: report.id.description, summary: report.summary, evidence: report.evidence,
                remediation: report.remediation, at: Date(), occurrences: open.contains(report.id) ? 0 : 1)
            if opened {
                logger.warning(
                    "unreplied flows leave by the wrong interface",
                    metadata: [
                        "interface": "\(candidate.interface)", "destination": "\(candidate.destination)",
                        "lookup": "\(report.evidence.lookup)",
                    ])
            }
        }
        for id in open.subtracting(seen) { findings.clear(kind: .missingSubnetRoute, key: id.description) }
        open = seen
    }
}
