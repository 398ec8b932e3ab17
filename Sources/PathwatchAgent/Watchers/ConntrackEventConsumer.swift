import Netlink

/// Something that wants the decoded conntrack events (a detector slice). The transport watcher
/// hands it each batch it read, and nothing else: what the events mean is the consumer's
/// business, so the watcher neither builds nor drives a detector.
///
/// Called on the watcher's thread, in order; a consumer must not block it for long (the
/// kernel's queue overruns while it waits).
public protocol ConntrackEventConsumer: Sendable {
    /// One batch of events as read from the socket (never empty).
    func consume(_ batch: [ConntrackEvent])
    /// No event arrived within the receive timeout: time-based work (expiry) can run.
    func idle()
    /// Whether ``idle()`` has work due soon (something remembered, a finding open). While no
    /// consumer has, an idle watcher sleeps up to ``ConntrackWatcher/restingWake`` instead of a
    /// second.
    var needsTicks: Bool { get }
}
