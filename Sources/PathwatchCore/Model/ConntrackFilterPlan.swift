/// When to change the kernel's conntrack event filter as the node's endpoints come and go:
/// widen at once, narrow later.
///
/// A new pod's address must be in the filter before the pod sends its first packet, so a wider
/// selection is attached the moment the model has it (the union of the old and the new, so
/// nothing that was let through stops being let through). Narrowing waits `narrowAfter`: the
/// flows of a pod that just went away still end (DESTROY events) in the meantime, and a pod that
/// is replaced at once (same address) costs no filter change at all.
public struct ConntrackFilterPlan: Sendable {
    public private(set) var attached: ConntrackSourceSelection?
    /// When the attached selection may shrink to the wanted one.
    public private(set) var narrowAt: ContinuousClock.Instant?
    public let narrowAfter: Duration

    public init(narrowAfter: Duration = .seconds(30)) {
        self.narrowAfter = narrowAfter
    }

    /// The selection to attach now, if any, given what the model wants at `now`.
    public mutating func next(wanted: ConntrackSourceSelection, at now: ContinuousClock.Instant) -> ConntrackSourceSelection? {
        guard let current = attached else {
            attached = wanted
            return wanted
        }
        guard current.covers(wanted) else {
            let widened = current.union(wanted)
            attached = widened
            narrowAt = widened == wanted ? nil : now + narrowAfter
            return widened
        }
        guard current != wanted else {
            narrowAt = nil
            return nil
        }
        guard let due = narrowAt else {
            narrowAt = now + narrowAfter
            return nil
        }
        guard now >= due else { return nil }
        attached = wanted
        narrowAt = nil
        return wanted
    }

    /// A narrowing is waiting for its time (or for the first tick to schedule it).
    public func awaitsNarrowing(wanted: ConntrackSourceSelection) -> Bool {
        guard let attached else { return false }
        return attached != wanted && attached.covers(wanted)
    }

    /// Forgets the attached selection (a new socket starts unfiltered).
    public mutating func reset() {
        attached = nil
        narrowAt = nil
    }
}
