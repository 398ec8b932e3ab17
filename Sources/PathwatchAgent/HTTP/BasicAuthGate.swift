import FoundationEssentials
import Synchronization

/// Decides basic-auth requests against the web configuration's `basic_auth_users`.
///
/// bcrypt is slow on purpose, so unchecked it would let a flood of wrong passwords take a core:
/// credentials that verified once are remembered (a keyed digest, never the password), and
/// credentials not remembered are verified one at a time, off the event loop, and only while
/// ``VerificationBudget`` allows; an attempt beyond that is answered at once (429).
final class BasicAuthGate: Sendable {
    enum Decision: Sendable, Equatable {
        case allowed
        case unauthorized
        /// A verification is running or the CPU budget is spent: refused without checking.
        case busy
    }

    typealias Verifier = @Sendable (_ password: String, _ hash: String) -> Bool

    private let users: [(name: [UInt8], hash: String)]
    private let verify: Verifier
    private let now: @Sendable () -> ContinuousClock.Instant
    private let offload: @Sendable (@escaping @Sendable () -> Bool) async -> Bool
    private let state: Mutex<(cache: VerifiedCache, budget: VerificationBudget)>
    /// Random per process: a digest in the cache says nothing about a password without it.
    private let key: [UInt8]

    /// A hash of the lowest cost that matches nothing: an unknown user costs the same verification
    /// as a known one, so the answer time does not tell which user names exist.
    static let decoyHash = "$2b$04$" + String(repeating: "A", count: 53)

    init(
        users: [String: String], verify: @escaping Verifier,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now },
        offload: @escaping @Sendable (@escaping @Sendable () -> Bool) async -> Bool,
        cacheCapacity: Int = 64, budget: VerificationBudget = VerificationBudget()
    ) {
        self.users = users.sorted { $0.key < $1.key }.map { (Array($0.key.utf8), $0.value) }
        self.verify = verify
        self.now = now
        self.offload = offload
        self.state = Mutex((VerifiedCache(capacity: cacheCapacity), budget))
        self.key = (0..<32).map { _ in UInt8.random(in: .min ... .max) }
    }

    /// The decision for a request's `Authorization` header values.
    func check(authorization: [String]) async -> Decision {
        guard authorization.count == 1, let (user, password) = Self.credentials(authorization[0]) else { return .unauthorized }
        let known = self.user(named: user)
        let hash = known ?? Self.decoyHash
        let digest = self.digest(user: user, password: password, hash: hash)
        let cached: Bool? = self.state.withLock { state in
            if known != nil, state.cache.contains(digest) { return true }
            return state.budget.tryBegin(at: self.now()) ? false : nil
        }
        switch cached {
        case true?: return .allowed
        case nil: return .busy
        case false?: break
        }
        let verify = self.verify
        let matched = await self.offload { verify(password, hash) }
        self.state.withLock { state in
            state.budget.end(at: self.now())
            if matched && known != nil { state.cache.insert(digest) }
        }
        return matched && known != nil ? .allowed : .unauthorized
    }

    /// `Basic base64(user:password)` → its parts; nil for anything else.
    static func credentials(_ header: String) -> (String, String)? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let data = Data(base64Encoded: parts[1].trimmingWhitespace()),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return (String(text[..<colon]), String(text[text.index(after: colon)...]))
    }

    /// The hash of `name`, compared with every configured user in time independent of where
    /// (or whether) the names differ.
    private func user(named name: String) -> String? {
        let given = Array(name.utf8)
        var found: String?
        for user in self.users where Self.constantTimeEqual(user.name, given) {
            found = user.hash
        }
        return found
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    /// SipHash (the standard library's `Hasher`) over a 256-bit random key, the user, the password
    /// and the user's hash (a changed hash invalidates the entry), twice with distinct domains for
    /// 128 bits. Not swift-crypto: it would build a second BoringSSL copy just for this.
    private func digest(user: String, password: String, hash: String) -> [UInt64] {
        (0..<2).map { domain in
            var hasher = Hasher()
            hasher.combine(domain)
            hasher.combine(self.key)
            hasher.combine(user)
            hasher.combine(password)
            hasher.combine(hash)
            return UInt64(bitPattern: Int64(hasher.finalize()))
        }
    }
}

/// Digests of credentials that verified, oldest evicted first.
struct VerifiedCache: Sendable {
    let capacity: Int
    private var entries: [[UInt64]] = []

    init(capacity: Int) { self.capacity = max(1, capacity) }

    func contains(_ digest: [UInt64]) -> Bool { self.entries.contains(digest) }

    mutating func insert(_ digest: [UInt64]) {
        guard !self.contains(digest) else { return }
        if self.entries.count == self.capacity { self.entries.removeFirst() }
        self.entries.append(digest)
    }

    var count: Int { self.entries.count }
}

/// At most one verification at a time, and after each one that took `d`, none before `d × idleFactor`
/// has passed: bcrypt gets at most 1 / (1 + idleFactor) of one core (25 % by default) however many
/// wrong passwords arrive.
struct VerificationBudget: Sendable {
    var idleFactor: Int = 3
    private var running: ContinuousClock.Instant?
    private var notBefore: ContinuousClock.Instant?

    init(idleFactor: Int = 3) { self.idleFactor = idleFactor }

    mutating func tryBegin(at now: ContinuousClock.Instant) -> Bool {
        guard self.running == nil else { return false }
        if let notBefore, now < notBefore { return false }
        self.running = now
        return true
    }

    mutating func end(at now: ContinuousClock.Instant) {
        guard let started = self.running else { return }
        self.running = nil
        self.notBefore = now + (now - started) * self.idleFactor
    }
}
