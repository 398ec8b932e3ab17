import Netlink

/// How the probe names a logged SYN's frontend without hammering conntrack: answers cached per
/// source endpoint (a retransmitted SYN reuses its port) for `cacheTTL`, and at most
/// `perSecond` kernel lookups a second. Only named frontends are cached, so a flow that
/// appears a moment later is still found.
public struct FrontendLookups: Sendable {
    public typealias Endpoint = HairpinCorrelator.Endpoint
    public let perSecond: Int
    public let cacheLimit: Int
    public let cacheTTL: Duration
    private var cache: [Endpoint: (frontend: Endpoint, time: ContinuousClock.Instant)] = [:]
    private var budget: Int
    private var budgetStart: ContinuousClock.Instant?

    public init(perSecond: Int = 20, cacheLimit: Int = 4096, cacheTTL: Duration = .seconds(10)) {
        self.perSecond = perSecond
        self.cacheLimit = cacheLimit
        self.cacheTTL = cacheTTL
        budget = perSecond
    }

    public enum Decision: Equatable, Sendable {
        case cached(Endpoint)
        /// Ask the kernel (the budget is charged).
        case lookUp
        /// Over budget this second: leave the frontend unnamed.
        case skip
    }

    public mutating func decide(for source: Endpoint, at now: ContinuousClock.Instant) -> Decision {
        if let hit = cache[source], now - hit.time < cacheTTL { return .cached(hit.frontend) }
        if budgetStart.map({ now - $0 >= .seconds(1) }) ?? true {
            budgetStart = now
            budget = perSecond
        }
        guard budget > 0 else { return .skip }
        budget -= 1
        return .lookUp
    }

    public mutating func remember(_ frontend: Endpoint, for source: Endpoint, at now: ContinuousClock.Instant) {
        if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[source] = (frontend, now)
    }
}

/// How self-sourced SYN drops are detected right now.
public enum SelfSourcedSynMode: String, Sendable, CaseIterable {
    /// Per packet: the agent's nftables rule logs each SYN; names the frontend.
    case probe
    /// The kernel's `in_martian_src` counter: no names, kernel-wide.
    case counter
    /// Neither works.
    case none

    /// What `/readyz` says about it.
    public var readiness: String {
        switch self {
        case .probe: "probe (nftables table inet \(SynProbeRule.table), nfnetlink_log)"
        case .counter: "counter (in_martian_src)"
        case .none: "none"
        }
    }
}
