import PathwatchCore

/// The probe's sets of node-local endpoints, kept in step with the model: planned by
/// ``LocalEndpointSetPlanner`` (widen at once, narrow after a delay), applied as one nf_tables
/// transaction per change that touches only the agent's table.
extension SelfSourcedSynController {
    /// A failed update is retried this long after (the transaction changed nothing).
    static let endpointRetry = Duration.seconds(1)
    /// How soon the sets are looked at again while the model's first dump is still coming in.
    static let modelWait = Duration.milliseconds(100)

    func syncEndpoints(_ active: any SynProbeSource, at now: Instant) {
        guard sources.modelReady() else {
            endpointsDue = now + Self.modelWait
            return
        }
        endpointsDue = nil
        let change = endpointSets.plan(sources.localEndpoints(), at: now)
        guard !change.isEmpty else { return }
        var after = endpointSets
        after.applied(change)
        do {
            try active.updateEndpoints(change, to: after.installed)
            endpointSets = after
            let ranges = after.installed.count
            slice.update { _, s in
                s.endpointSetUpdates += 1
                s.localEndpointRanges = ranges
            }
        } catch {
            endpointsDue = now + Self.endpointRetry
            logger.warning(
                "cannot update the probe's sets of node-local endpoints; retrying in a second",
                metadata: ["error": "\(error)", "added": "\(change.add.count)", "removed": "\(change.remove.count)"])
        }
    }
}
