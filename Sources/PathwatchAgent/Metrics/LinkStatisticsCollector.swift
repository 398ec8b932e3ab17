import Dispatch
import NetlinkIO

/// Refreshes interface counters just before a scrape.
///
/// Link events carry counters only when something about the link changes, so a scrape dumps
/// the links (one RTM_GETLINK, cheap) for fresh `IFLA_STATS64`. The dump blocks, so it runs on
/// its own serial queue, never on the HTTP event loop or the cooperative pool.
public final class LinkStatisticsCollector: @unchecked Sendable {
    private let queue = DispatchQueue(label: "pathwatch.link-statistics")
    private var dumper: RtnetlinkDumper?
    private let state: LiveNodeState

    public init(state: LiveNodeState) { self.state = state }

    /// Dumps links and updates the counters of links already in the model. Errors are returned
    /// so the caller can log them; the scrape still serves the last known values.
    public func refresh() async -> NetlinkError? {
        await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.refreshNow())
            }
        }
    }

    private func refreshNow() -> NetlinkError? {
        do {
            if dumper == nil { dumper = try RtnetlinkDumper() }
            let links = try dumper!.links()
            state.updateStatistics(links)
            return nil
        } catch {
            dumper = nil  // A fresh socket next time, in case this one is wedged.
            return error
        }
    }
}
