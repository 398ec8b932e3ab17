import Netlink

extension SynProbeRule {
    /// The most elements one set-element message carries: a node with thousands of pods is
    /// filled in several messages of one transaction, each well inside a netlink buffer.
    static let elementsPerMessage = 256

    /// The messages that add (`add: true`) or delete `ranges` in the probe's sets: each range is
    /// a start element and, unless it runs to the family's last address, an end element just past
    /// it (`NFT_SET_ELEM_INTERVAL_END`), as nft writes intervals.
    public static func setElementMessages(_ ranges: [AddressRange], add: Bool) -> [NetlinkRequest] {
        localSets.flatMap { set -> [NetlinkRequest] in
            let elements = ranges.filter { $0.family == set.family }.flatMap { range in
                [NfTablesIntervalElement(key: range.first, isEnd: false)]
                    + (range.end.map { [NfTablesIntervalElement(key: $0, isEnd: true)] } ?? [])
            }
            return stride(from: 0, to: elements.count, by: elementsPerMessage).map { start in
                .nfSetElements(
                    add: add, family: family, table: table, set: set.name,
                    elements: Array(elements[start..<min(start + elementsPerMessage, elements.count)]))
            }
        }
    }

    /// Empties both sets (`nft flush set`) and fills them with `ranges`, in one transaction's
    /// messages: after someone else touched the sets, whatever they did is undone.
    public static func setRefillMessages(_ ranges: [AddressRange]) -> [NetlinkRequest] {
        localSets.map { .nfSetElements(add: false, family: family, table: table, set: $0.name, elements: []) }
            + setElementMessages(ranges, add: true)
    }

    /// The messages that change the sets as `change` says: deletions first, so a range that is
    /// reshaped never overlaps its old self.
    public static func setChangeMessages(_ change: LocalEndpointSetPlanner.Change) -> [NetlinkRequest] {
        setElementMessages(change.remove, add: false) + setElementMessages(change.add, add: true)
    }
}
