/// A conntrack event from the `NFNLGRP_CONNTRACK_*` multicast groups.
public struct ConntrackEvent: Hashable, Sendable {
    public enum EventType: Hashable, Sendable {
        /// `IPCTNL_MSG_CT_NEW` with `NLM_F_CREATE|NLM_F_EXCL`: the entry was just confirmed.
        case new
        /// `IPCTNL_MSG_CT_NEW` without those flags: state, status, mark or timeout changed.
        case update
        /// `IPCTNL_MSG_CT_DELETE`: the entry expired, was flushed, or was deleted.
        case destroy
    }

    public var type: EventType
    public var flow: ConntrackFlow

    public init(type: EventType, flow: ConntrackFlow) {
        self.type = type
        self.flow = flow
    }

    /// Decodes a ctnetlink event, or returns nil for a message that is not one (another
    /// nfnetlink subsystem, an expectation, a control message).
    ///
    /// NEW and UPDATE share `IPCTNL_MSG_CT_NEW`; the kernel marks creations with
    /// `NLM_F_CREATE|NLM_F_EXCL`, and, like libnetfilter_conntrack, either flag counts as NEW.
    public init?(_ message: NetlinkMessage) throws(DecodeError) {
        switch message.header.type {
        case ConntrackMessageType.new:
            let creating = !message.header.flags.isDisjoint(with: [.create, .exclusive])
            type = creating ? .new : .update
        case ConntrackMessageType.delete:
            type = .destroy
        default:
            return nil
        }
        flow = try ConntrackFlow(payload: message.payload)
    }
}
