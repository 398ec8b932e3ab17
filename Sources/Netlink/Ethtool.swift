/// The ethtool ioctl structures pathwatch reads (`linux/ethtool.h`): driver info for the number
/// of statistics, then their names (`ETHTOOL_GSTRINGS`, `ETH_SS_STATS`) and values
/// (`ETHTOOL_GSTATS`). All fields are in host byte order.
public enum Ethtool {
    /// The corresponding C constant is `SIOCETHTOOL`.
    public static let ioctlRequest: UInt = 0x8946
    /// The corresponding C constant is `ETHTOOL_GDRVINFO`.
    public static let getDriverInfo: UInt32 = 0x03
    /// The corresponding C constant is `ETHTOOL_GSTRINGS`.
    public static let getStrings: UInt32 = 0x1b
    /// The corresponding C constant is `ETHTOOL_GSTATS`.
    public static let getStatistics: UInt32 = 0x1d
    /// The corresponding C constant is `ETH_SS_STATS`.
    public static let statisticsStringSet: UInt32 = 1
    /// The corresponding C constant is `ETH_GSTRING_LEN`.
    public static let stringLength = 32
    /// `sizeof(struct ethtool_drvinfo)`.
    public static let driverInfoSize = 196
    /// Offset of `n_stats` in `struct ethtool_drvinfo`.
    static let statisticsCountOffset = 180
    /// Header bytes before the data of `struct ethtool_gstrings` (cmd, string_set, len).
    public static let stringsHeaderSize = 12
    /// Header bytes before the data of `struct ethtool_stats` (cmd, n_stats).
    public static let statisticsHeaderSize = 8

    /// The driver name and statistic count from a filled `struct ethtool_drvinfo`.
    public static func driverInfo(_ r: ByteReader) throws(DecodeError) -> (driver: String, statistics: Int) {
        let name = try r.slice(4, 32, "ethtool_drvinfo.driver").string()
        return (name, Int(try r.u32Host(at: statisticsCountOffset, "ethtool_drvinfo.n_stats")))
    }

    /// Pairs the names of a filled `struct ethtool_gstrings` with the values of a filled
    /// `struct ethtool_stats`, calling `body` for each; both must report the same count.
    public static func forEachStatistic(
        strings: ByteReader, values: ByteReader, _ body: (String, UInt64) -> Void
    ) throws(DecodeError) {
        let count = Int(try strings.u32Host(at: 8, "ethtool_gstrings.len"))
        let valueCount = Int(try values.u32Host(at: 4, "ethtool_stats.n_stats"))
        guard count == valueCount else {
            throw DecodeError("ethtool statistics", "\(count) names but \(valueCount) values (the driver changed between the calls)")
        }
        for i in 0..<count {
            let name = try strings.slice(stringsHeaderSize + i * stringLength, stringLength, "ethtool_gstrings.data").string()
            body(name, try values.u64Host(at: statisticsHeaderSize + i * 8, "ethtool_stats.data"))
        }
    }
}

/// The "allowance exceeded" counters that cloud NIC drivers (AWS ENA) export as ethtool
/// statistics: packets the cloud shaped or dropped because an instance limit was hit.
public enum NICAllowance: String, Sendable, CaseIterable, Hashable {
    case bandwidthIn = "bw_in"
    case bandwidthOut = "bw_out"
    case packetsPerSecond = "pps"
    case conntrack
    case linkLocal = "linklocal"

    /// The ethtool statistic name, e.g. `bw_in_allowance_exceeded`.
    public var statisticName: String { "\(rawValue)_allowance_exceeded" }

    public init?(statisticName: String) {
        guard let value = Self.allCases.first(where: { $0.statisticName == statisticName }) else { return nil }
        self = value
    }
}
