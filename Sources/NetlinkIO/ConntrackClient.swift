import Netlink

/// Request/response access to ctnetlink: table dumps and statistics of the caller's network
/// namespace (the namespace of the thread that created it).
///
/// Owned by one thread at a time, like the ``NetlinkSocket`` it holds.
public final class ConntrackClient: Sendable {
    public let socket: NetlinkSocket

    /// Opens a `NETLINK_NETFILTER` socket. `timeoutMilliseconds` bounds each wait for a reply.
    public init(timeoutMilliseconds: Int = 5000) throws(NetlinkError) {
        socket = try NetlinkSocket(bus: .netfilter)
        try socket.setReceiveTimeout(milliseconds: timeoutMilliseconds)
    }

    /// Dumps the conntrack table (`conntrack -L`), both families unless `family` says otherwise,
    /// handing each flow to `body` while its bytes are borrowed from the receive buffer.
    ///
    /// Throws ``NetlinkError/Kind/dumpInterrupted`` when the table changed mid-dump: dump again.
    public func dumpFlows(
        family: AddressFamily = .unspecified,
        _ body: (ConntrackFlow) -> Void
    ) throws(NetlinkError) {
        let operation = "dump conntrack table"
        try socket.request(.dumpConntrack(family: family), operation) { message throws(NetlinkError) in
            guard message.header.type == ConntrackMessageType.new else { return }
            body(try decoding(operation) { () throws(DecodeError) in try ConntrackFlow(message) })
        }
    }

    /// Dumps the conntrack table into an array.
    public func dumpFlows(family: AddressFamily = .unspecified) throws(NetlinkError) -> [ConntrackFlow] {
        var flows: [ConntrackFlow] = []
        try dumpFlows(family: family) { flows.append($0) }
        return flows
    }

    /// Per-CPU counters and the table's size and limit (`conntrack -S` and `conntrack -C`), over
    /// netlink: the procfs file is absent on kernels without `CONFIG_NF_CONNTRACK_PROCFS`.
    public func readStatistics() throws(NetlinkError) -> ConntrackStatistics {
        var perCPU: [ConntrackCPUStatistics] = []
        let cpuOperation = "read conntrack per-CPU statistics"
        try socket.request(.conntrackCPUStatistics(), cpuOperation) { message throws(NetlinkError) in
            perCPU.append(try decoding(cpuOperation) { () throws(DecodeError) in try ConntrackCPUStatistics(message) })
        }
        var global: ConntrackGlobalStatistics?
        let globalOperation = "read conntrack table statistics"
        try socket.request(.conntrackGlobalStatistics(), globalOperation) { message throws(NetlinkError) in
            global = try decoding(globalOperation) { () throws(DecodeError) in try ConntrackGlobalStatistics(message) }
        }
        return ConntrackStatistics(perCPU: perCPU, global: global)
    }

    /// The flows leaving `source`:`port` over `protocolNumber` (`conntrack -L -s SOURCE -p tcp
    /// --sport PORT`): the kernel filters by protocol and port, this by address.
    public func flows(from source: IPAddress, port: UInt16, protocolNumber: IPProtocolNumber) throws(NetlinkError) -> [ConntrackFlow] {
        let operation = "look up conntrack flows from \(source) port \(port)"
        var flows: [ConntrackFlow] = []
        try socket.request(.dumpConntrack(originalSource: source, port: port, protocolNumber: protocolNumber), operation) {
            message throws(NetlinkError) in
            guard message.header.type == ConntrackMessageType.new else { return }
            let flow = try decoding(operation) { () throws(DecodeError) in try ConntrackFlow(message) }
            if flow.original.source == source { flows.append(flow) }
        }
        return flows
    }

    /// The flows whose replies go to `destination`:`port` over `protocolNumber`: flows of pods
    /// masqueraded to the node's address, whose original tuple names the pod.
    public func flows(replyingTo destination: IPAddress, port: UInt16, protocolNumber: IPProtocolNumber) throws(NetlinkError)
        -> [ConntrackFlow]
    {
        let operation = "look up conntrack flows replying to \(destination) port \(port)"
        var flows: [ConntrackFlow] = []
        try socket.request(.dumpConntrack(replyDestination: destination, port: port, protocolNumber: protocolNumber), operation) {
            message throws(NetlinkError) in
            guard message.header.type == ConntrackMessageType.new else { return }
            let flow = try decoding(operation) { () throws(DecodeError) in try ConntrackFlow(message) }
            if flow.reply.destination == destination { flows.append(flow) }
        }
        return flows
    }
}
