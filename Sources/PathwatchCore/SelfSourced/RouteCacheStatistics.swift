/// `/proc/net/stat/rt_cache`: the IPv4 routing statistics, one row of hex counters per CPU.
///
/// pathwatch reads `in_martian_src`: packets dropped because their source address is
/// impossible on the interface they arrived on, which includes a SYN carrying one of the node's
/// own addresses after a load balancer sent the node's connection back to it (the instance
/// hairpin). The counters are kernel-wide, not per network namespace.
public enum RouteCacheStatistics {
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Sums every column over the CPU rows.
    public static func parse(_ text: String) throws(ParseError) -> [String: UInt64] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard let header = lines.first?.split(separator: " ", omittingEmptySubsequences: true), header.contains("in_martian_src") else {
            throw ParseError(description: "rt_cache: no header with in_martian_src")
        }
        var totals: [String: UInt64] = [:]
        for (number, line) in lines.dropFirst().enumerated() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count == header.count else {
                throw ParseError(description: "rt_cache: CPU row \(number + 1) has \(fields.count) fields, the header \(header.count)")
            }
            for (name, field) in zip(header, fields) {
                guard field.count <= 16, let value = UInt64(field, radix: 16) else {
                    throw ParseError(description: "rt_cache: '\(field.prefix(20))' in column \(name) is not a hex counter")
                }
                totals[String(name), default: 0] &+= value
            }
        }
        guard lines.count > 1 else { throw ParseError(description: "rt_cache: no CPU rows") }
        return totals
    }
}
