import Logging
import PathwatchCore
import Synchronization

/// The auto-fix mode in force. Changed by SIGHUP (the config file) or by `pathwatch autofix`
/// over the control socket, whichever came last; every change is logged and exported.
public final class AutofixSwitch: Sendable {
    private let mode: Mutex<AutofixMode>
    private let metrics: AgentMetrics
    private let logger: Logger
    /// Notified on every change, so the repairer re-evaluates at once.
    private let changes: ChangeSignal

    public init(_ initial: AutofixMode, metrics: AgentMetrics, logger: Logger, notify changes: ChangeSignal) {
        self.changes = changes
        mode = Mutex(initial)
        self.metrics = metrics
        self.logger = logger
        metrics.setAutofixMode(initial)
    }

    public var current: AutofixMode { mode.withLock { $0 } }

    public func set(_ new: AutofixMode, by source: String) {
        let old = mode.withLock { m in
            defer { m = new }
            return m
        }
        metrics.setAutofixMode(new)
        guard old != new else { return }
        logger.notice("auto-fix mode changed", metadata: ["from": "\(old.rawValue)", "to": "\(new.rawValue)", "by": "\(source)"])
        changes.notify()
    }
}
