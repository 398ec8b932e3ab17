import Netlink
import SystemPackage

/// nf_tables over netlink, without the `nft` binary: atomic transactions (batches) and rule
/// dumps of the caller's network namespace.
///
/// Owned by one thread at a time, like the ``NetlinkSocket`` it holds.
public final class NfTablesClient: Sendable {
    public let socket: NetlinkSocket

    public init(timeoutMilliseconds: Int = 2000) throws(NetlinkError) {
        socket = try NetlinkSocket(bus: .netfilter)
        try socket.setReceiveTimeout(milliseconds: timeoutMilliseconds)
    }

    /// Applies `messages` as one transaction: the kernel applies all of them or none.
    ///
    /// Every message asks for an ACK; the kernel answers each after processing the whole batch
    /// (errors of an aborted batch included), so this waits for one answer per message and
    /// throws the first error, with the kernel's extended-ACK text when it gave one.
    public func commit(_ messages: [NetlinkRequest], _ operation: String) throws(NetlinkError) {
        let begin = socket.nextSequence()
        var bytes = NetlinkRequest.nfTablesBatch(NfTablesMessageType.batchBegin).finish(sequence: begin)
        var waiting = Set<UInt32>()
        for message in messages {
            let sequence = socket.nextSequence()
            waiting.insert(sequence)
            bytes += message.finish(sequence: sequence)
        }
        bytes += NetlinkRequest.nfTablesBatch(NfTablesMessageType.batchEnd).finish(sequence: socket.nextSequence())
        try socket.send(bytes, operation)
        var failure: NetlinkError?
        while !waiting.isEmpty {
            let got = try socket.receive(operation) { datagram throws(NetlinkError) in
                var iterator = MessageIterator(datagram)
                while let message = try decoding(operation, { () throws(DecodeError) in try iterator.next() }) {
                    guard message.header.type == NetlinkControl.error, waiting.remove(message.header.sequence) != nil else { continue }
                    let answer = try decoding(operation) { () throws(DecodeError) in try NetlinkErrorMessage(message) }
                    if answer.error != 0, failure == nil {
                        failure = NetlinkError(operation, .kernel(Errno(rawValue: -answer.error), message: answer.extendedMessage))
                    }
                }
            }
            if !got {
                throw failure ?? NetlinkError(operation, .protocolViolation("\(waiting.count) batch messages unanswered"))
            }
        }
        if let failure { throw failure }
    }

    /// The rules of `chain` in `table`; empty when the table or chain does not exist.
    public func rules(family: AddressFamily, table: String, chain: String) throws(NetlinkError) -> [NfTablesRule] {
        let operation = "list nftables chain \(table) \(chain)"
        var rules: [NfTablesRule] = []
        do {
            try socket.request(.dumpNfRules(family: family, table: table, chain: chain), operation) { message throws(NetlinkError) in
                guard message.header.type == NfTablesMessageType.newRule else { return }
                rules.append(try decoding(operation) { () throws(DecodeError) in try NfTablesRule(message) })
            }
        } catch {
            if case .kernel(let errno, _) = error.kind, errno == .noSuchFileOrDirectory { return [] }
            throw error
        }
        return rules
    }

    /// The table `name` of `family`, or nil when there is none.
    public func table(family: AddressFamily, name: String) throws(NetlinkError) -> NfTablesTable? {
        let operation = "list nftables tables"
        var found: NfTablesTable?
        try socket.request(.dumpNfTables(family: family), operation) { message throws(NetlinkError) in
            guard message.header.type == NfTablesMessageType.newTable else { return }
            let table = try decoding(operation) { () throws(DecodeError) in try NfTablesTable(message) }
            if table.name == name, table.family == family { found = table }
        }
        return found
    }
}
