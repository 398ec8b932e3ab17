/// The status word of a conntrack entry (`CTA_STATUS`, `enum ip_conntrack_status`).
public struct ConntrackStatus: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// An expected connection (of a helper's master flow). The corresponding C constant is `IPS_EXPECTED`.
    public static let expected = ConntrackStatus(rawValue: 1 << 0)
    /// Packets were seen in both directions. The corresponding C constant is `IPS_SEEN_REPLY`.
    public static let seenReply = ConntrackStatus(rawValue: 1 << 1)
    /// Never to be early-expired. The corresponding C constant is `IPS_ASSURED`.
    public static let assured = ConntrackStatus(rawValue: 1 << 2)
    /// In the table: the first packet left the box. The corresponding C constant is `IPS_CONFIRMED`.
    public static let confirmed = ConntrackStatus(rawValue: 1 << 3)
    /// Source NAT applies. The corresponding C constant is `IPS_SRC_NAT`.
    public static let sourceNAT = ConntrackStatus(rawValue: 1 << 4)
    /// Destination NAT applies. The corresponding C constant is `IPS_DST_NAT`.
    public static let destinationNAT = ConntrackStatus(rawValue: 1 << 5)
    /// TCP sequence numbers are adjusted (helpers). The corresponding C constant is `IPS_SEQ_ADJUST`.
    public static let sequenceAdjust = ConntrackStatus(rawValue: 1 << 6)
    /// Source NAT set up. The corresponding C constant is `IPS_SRC_NAT_DONE`.
    public static let sourceNATDone = ConntrackStatus(rawValue: 1 << 7)
    /// Destination NAT set up. The corresponding C constant is `IPS_DST_NAT_DONE`.
    public static let destinationNATDone = ConntrackStatus(rawValue: 1 << 8)
    /// Being removed. The corresponding C constant is `IPS_DYING`.
    public static let dying = ConntrackStatus(rawValue: 1 << 9)
    /// The timeout is not refreshed by traffic. The corresponding C constant is `IPS_FIXED_TIMEOUT`.
    public static let fixedTimeout = ConntrackStatus(rawValue: 1 << 10)
    /// A template, not a real flow. The corresponding C constant is `IPS_TEMPLATE`.
    public static let template = ConntrackStatus(rawValue: 1 << 11)
    /// Not tracked; reused for NAT clash entries. The corresponding C constant is `IPS_UNTRACKED`
    /// (alias `IPS_NAT_CLASH`).
    public static let untracked = ConntrackStatus(rawValue: 1 << 12)
    /// A helper was assigned explicitly. The corresponding C constant is `IPS_HELPER`.
    public static let helper = ConntrackStatus(rawValue: 1 << 13)
    /// Offloaded to the flow table. The corresponding C constant is `IPS_OFFLOAD`.
    public static let offload = ConntrackStatus(rawValue: 1 << 14)
    /// Offloaded to hardware. The corresponding C constant is `IPS_HW_OFFLOAD`.
    public static let hardwareOffload = ConntrackStatus(rawValue: 1 << 15)
}
