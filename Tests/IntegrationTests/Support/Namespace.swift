import Foundation
import Synchronization

/// A network namespace a test creates and always deletes.
///
/// Names are unique per process and test (`pwt-<pid>-<n>-<label>`), so parallel or leftover
/// runs never collide; `withNamespaces` deletes them whether the test body returns or throws.
final class Namespace: Sendable {
    let name: String
    private static let counter = Atomic<Int>(0)

    static var isRoot: Bool { getuid() == 0 }

    private init(label: String) {
        let n = Self.counter.add(1, ordering: .relaxed).newValue
        name = String("pwt-\(getpid())-\(n)-\(label)".prefix(30))
    }

    static func create(_ label: String) throws -> Namespace {
        let ns = Namespace(label: label)
        try Shell.run(["ip", "netns", "add", ns.name])
        try ns.ip("link", "set", "lo", "up")
        return ns
    }

    func delete() {
        // Processes started inside were stopped by their owners; deleting the name is enough.
        _ = try? Shell.run(["ip", "netns", "del", name], check: false)
    }

    /// `ip -n NAME …`
    @discardableResult
    func ip(_ arguments: String...) throws -> String {
        try Shell.run(["ip", "-n", name] + arguments)
    }

    /// Runs a command inside the namespace.
    @discardableResult
    func exec(_ command: [String], input: String? = nil, check: Bool = true) throws -> String {
        try Shell.run(["ip", "netns", "exec", name] + command, input: input, check: check)
    }

    /// Runs `nft -f -` inside the namespace; the ruleset lives and dies with the namespace.
    func nft(_ ruleset: String) throws {
        try exec(["nft", "-f", "-"], input: ruleset)
    }

    /// Turns conntrack on in this namespace: it stays off until a rule uses it.
    func activateConntrack() throws {
        try nft(
            """
            table inet pwtest {
                chain out { type filter hook output priority 0; ct state new counter; }
                chain in { type filter hook prerouting priority 0; ct state new counter; }
            }
            """)
    }

    /// A veth pair from this namespace to `peer`, with addresses on both ends.
    func connect(_ local: String, to peer: Namespace, _ remote: String, localAddress: String, remoteAddress: String) throws {
        try ip("link", "add", local, "type", "veth", "peer", "name", remote, "netns", peer.name)
        try ip("addr", "add", localAddress, "dev", local)
        try peer.ip("addr", "add", remoteAddress, "dev", remote)
        try ip("link", "set", local, "up")
        try peer.ip("link", "set", remote, "up")
    }
}

/// Creates namespaces for `body` and deletes them afterwards, also when it throws.
func withNamespaces<T>(_ labels: [String], _ body: ([Namespace]) throws -> T) throws -> T {
    var created: [Namespace] = []
    defer { for ns in created { ns.delete() } }
    for label in labels { created.append(try Namespace.create(label)) }
    return try body(created)
}

func withNamespace<T>(_ label: String, _ body: (Namespace) throws -> T) throws -> T {
    try withNamespaces([label]) { try body($0[0]) }
}
