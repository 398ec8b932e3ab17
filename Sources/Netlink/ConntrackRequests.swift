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

extension NetlinkRequest {
    /// The flows whose original direction leaves `source`:`port` over `protocolNumber`, filtered
    /// in the kernel (`CTA_FILTER`, Linux 5.8+): names the destination of one socket's flow
    /// without copying the whole table to user space.
    ///
    /// The kernel filters on the family, protocol and source port; the caller compares the
    /// address (on Linux 6.18 here, adding `CTA_FILTER_FLAG_CTA_IP_SRC` made IPv6 lookups
    /// return nothing for a flow that exists, so the address filter is not trusted). The kernel
    /// needs the family set (not `AF_UNSPEC`) and the protocol flag with the port flag.
    public static func dumpConntrack(originalSource source: IPAddress, port: UInt16, protocolNumber: IPProtocolNumber) -> NetlinkRequest {
        var request = NetlinkRequest(
            type: ConntrackMessageType.get, flags: [.request, .dump], familyHeader: NetfilterGenericHeader(family: source.family).bytes)
        var attributes = AttributeBuilder()
        attributes.addNested(1) { tuple in  // CTA_TUPLE_ORIG
            tuple.addNested(1) { ip in  // CTA_TUPLE_IP
                ip.add(source.family == .inet6 ? 3 : 1, source.networkBytes)  // CTA_IP_V6_SRC / CTA_IP_V4_SRC
            }
            tuple.addNested(2) { proto in  // CTA_TUPLE_PROTO
                proto.add(1, [protocolNumber.rawValue])  // CTA_PROTO_NUM
                proto.add(2, network: port)  // CTA_PROTO_SRC_PORT
            }
        }
        attributes.addNested(25) { filter in  // CTA_FILTER
            // CTA_FILTER_FLAG_CTA_PROTO_NUM | CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT
            filter.add(1, host: UInt32(1 << 3 | 1 << 4))  // CTA_FILTER_ORIG_FLAGS
            filter.add(2, host: UInt32(0))  // CTA_FILTER_REPLY_FLAGS
        }
        request.addAttributes(attributes)
        return request
    }

    /// A dump of the flows whose *reply* goes to `port` over `protocolNumber` (`conntrack -L -p tcp
    /// --reply-port-dst PORT`): a pod's flow masqueraded to the node's address carries the
    /// node's address and port only in its reply tuple. The kernel filters on the family,
    /// protocol and reply destination port; the caller compares the address.
    public static func dumpConntrack(replyDestination destination: IPAddress, port: UInt16, protocolNumber: IPProtocolNumber)
        -> NetlinkRequest
    {
        var request = NetlinkRequest(
            type: ConntrackMessageType.get, flags: [.request, .dump], familyHeader: NetfilterGenericHeader(family: destination.family).bytes
        )
        var attributes = AttributeBuilder()
        attributes.addNested(2) { tuple in  // CTA_TUPLE_REPLY
            tuple.addNested(1) { ip in  // CTA_TUPLE_IP
                ip.add(destination.family == .inet6 ? 4 : 2, destination.networkBytes)  // CTA_IP_V6_DST / CTA_IP_V4_DST
            }
            tuple.addNested(2) { proto in  // CTA_TUPLE_PROTO
                proto.add(1, [protocolNumber.rawValue])  // CTA_PROTO_NUM
                proto.add(3, network: port)  // CTA_PROTO_DST_PORT
            }
        }
        attributes.addNested(25) { filter in  // CTA_FILTER
            filter.add(1, host: UInt32(0))  // CTA_FILTER_ORIG_FLAGS
            // CTA_FILTER_FLAG_CTA_PROTO_NUM | CTA_FILTER_FLAG_CTA_PROTO_DST_PORT
            filter.add(2, host: UInt32(1 << 3 | 1 << 5))  // CTA_FILTER_REPLY_FLAGS
        }
        request.addAttributes(attributes)
        return request
    }
}
