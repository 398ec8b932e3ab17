import Foundation

/// The agent's `/state` document, decoded for comparison with what `ip` reports.
struct StateDocument: Decodable {
    struct Link: Decodable {
        var index: Int
        var name: String
        var kind: String?
        var operState: String
        var up: Bool
        var mtu: Int?
    }

    struct Address: Decodable {
        var interface: String
        var address: String
        var prefixLength: Int
    }

    struct NextHop: Decodable {
        var gateway: String?
        var interface: String?
        var weight: Int
    }

    struct Route: Decodable {
        var family: String
        var table: Int
        var destination: String
        var type: String
        var protocolName: String
        var priority: Int?
        var nextHops: [NextHop]

        enum CodingKeys: String, CodingKey {
            case family, table, destination, type, priority, nextHops
            case protocolName = "protocol"
        }
    }

    struct Rule: Decodable {
        var family: String
        var priority: Int
        var source: String?
        var table: Int
    }

    var links: [Link]
    var addresses: [Address]
    var routes: [Route]
    var rules: [Rule]
    var localEndpoints: [String]

    static func fetch(_ agent: AgentProcess) throws -> StateDocument {
        let response = try agent.get("/state")
        guard response.status == 200 else {
            throw Shell.Failure(command: ["GET", "/state"], status: Int32(response.status), output: response.body)
        }
        return try JSONDecoder().decode(StateDocument.self, from: Data(response.body.utf8))
    }

    func routes(family: String) -> [Route] { routes.filter { $0.family == family } }
}

/// What `ip -j` says, for the comparisons.
enum IPView {
    /// Number of routes `ip -j route show table all` lists for the family (4 or 6).
    static func routeCount(_ ns: Namespace, family: Int) throws -> Int {
        let json = try ns.exec(["ip", "-\(family)", "-j", "route", "show", "table", "all"])
        let array = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [Any]
        return array?.count ?? 0
    }

    static func addressCount(_ ns: Namespace) throws -> Int {
        let json = try ns.exec(["ip", "-j", "addr", "show"])
        let links = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]] ?? []
        return links.reduce(0) { $0 + (($1["addr_info"] as? [Any])?.count ?? 0) }
    }

    static func ruleCount(_ ns: Namespace, family: Int) throws -> Int {
        let json = try ns.exec(["ip", "-\(family)", "-j", "rule", "show"])
        return (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [Any])?.count ?? 0
    }
}
