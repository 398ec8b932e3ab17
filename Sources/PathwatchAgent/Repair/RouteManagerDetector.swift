import FoundationEssentials

/// Names the route managers on this node that are known to delete routes they did not create,
/// so a flapping finding can say who is likely removing pathwatch's repairs.
enum RouteManagerDetector {
    /// Process names (`/proc/PID/comm`, 15 characters at most) and what to tell the operator.
    static let processes: [(comm: String, advice: String)] = [
        (
            "systemd-network",
            "systemd-networkd is running: with ManageForeignRoutes=yes (its default) it removes routes it did not configure; set ManageForeignRoutes=no and ManageForeignRoutingPolicyRules=no in networkd.conf, or see docs/subnet-routes.md"
        ),
        (
            "NetworkManager",
            "NetworkManager is running: it may rewrite routes of the interfaces it manages; mark them unmanaged or add the route to its connection profile"
        ),
    ]

    /// Files whose presence marks a cloud image's route refresher.
    static let files: [(path: String, advice: String)] = [
        (
            "/usr/lib/systemd/system/refresh-policy-routes@.service",
            "amazon-ec2-net-utils' refresh-policy-routes timer is installed: it rewrites each interface's policy routes periodically; use repair.strategy main-table or add the route to its configuration"
        )
    ]

    /// A sentence naming the likely cause, or a generic one when nothing known is found.
    static func likelyCause(procRoot: String = "/proc") -> String {
        var found: [String] = []
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: procRoot)) ?? []
        var running: Set<String> = []
        for pid in entries where pid.allSatisfy(\.isNumber) {
            if let comm = try? String(contentsOfFile: "\(procRoot)/\(pid)/comm", encoding: .utf8) {
                running.insert(comm.trimmingWhitespace())
            }
        }
        for process in processes where running.contains(process.comm) { found.append(process.advice) }
        for file in files where FileManager.default.fileExists(atPath: file.path) { found.append(file.advice) }
        if found.isEmpty {
            return
                "something on this node removes the route pathwatch installs (a network manager, a cloud refresh timer, configuration management or an operator); find it with `ip monitor route` and see docs/subnet-routes.md"
        }
        return found.joined(separator: "; ")
    }
}
