/// ctnetlink requests. Each starts with a `struct nfgenmsg` (family, `NFNETLINK_V0`, `res_id` 0).
extension NetlinkRequest {
    /// A dump of the whole conntrack table (`conntrack -L`): `IPCTNL_MSG_CT_GET` with `NLM_F_DUMP`.
    /// `.unspecified` dumps IPv4 and IPv6 flows. This is the resync after an event overrun.
    public static func dumpConntrack(family: AddressFamily = .unspecified) -> NetlinkRequest {
        NetlinkRequest(
            type: ConntrackMessageType.get, flags: [.request, .dump],
            familyHeader: NetfilterGenericHeader(family: family).bytes
        )
    }

    /// Per-CPU statistics (`conntrack -S`): `IPCTNL_MSG_CT_GET_STATS_CPU`, a dump with one reply
    /// per possible CPU.
    public static func conntrackCPUStatistics() -> NetlinkRequest {
        NetlinkRequest(
            type: ConntrackMessageType.getStatisticsCPU, flags: [.request, .dump],
            familyHeader: NetfilterGenericHeader(family: .unspecified).bytes
        )
    }

    /// Table size and limit (`conntrack -C`): `IPCTNL_MSG_CT_GET_STATS`, one reply.
    ///
    /// The kernel flags that single reply `NLM_F_MULTI` yet sends no `NLMSG_DONE` after it, so
    /// the request asks for an ACK (`NLM_F_ACK`) to mark the end of the answer.
    public static func conntrackGlobalStatistics() -> NetlinkRequest {
        NetlinkRequest(
            type: ConntrackMessageType.getStatistics, flags: [.request, .ack],
            familyHeader: NetfilterGenericHeader(family: .unspecified).bytes
        )
    }
}
