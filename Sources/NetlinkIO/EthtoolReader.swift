import Glibc
import Netlink
import SystemPackage

/// Reads an interface's ethtool statistics through the `SIOCETHTOOL` ioctl (what
/// `ethtool -S IFACE` does), in the caller's network namespace.
///
/// Three calls: driver info for the count, the names, the values. Drivers without statistics
/// (loopback) answer `EOPNOTSUPP` or a zero count; that is an empty result, not an error.
public final class EthtoolReader: Sendable {
    private let fd: Int32

    public init() throws(NetlinkError) {
        fd = try syscallValue("open a socket for SIOCETHTOOL") {
            Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
    }

    deinit { close(fd) }

    /// The driver name and every statistic of `interface`, or nil when it has no statistics.
    public func statistics(of interface: String) throws(NetlinkError) -> (driver: String, values: [(String, UInt64)])? {
        var info = [UInt8](repeating: 0, count: Ethtool.driverInfoSize)
        info.withUnsafeMutableBytes { $0.storeBytes(of: Ethtool.getDriverInfo, as: UInt32.self) }
        guard try call(interface, &info, "ETHTOOL_GDRVINFO") else { return nil }
        let (driver, count) = try decoding("read \(interface) driver info") { () throws(DecodeError) in
            try info.withUnsafeBytes { raw in Result { () throws(DecodeError) in try Ethtool.driverInfo(ByteReader(raw)) } }.get()
        }
        guard count > 0, count < 1 << 16 else { return (driver, []) }
        var strings = [UInt8](repeating: 0, count: Ethtool.stringsHeaderSize + count * Ethtool.stringLength)
        strings.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: Ethtool.getStrings, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: Ethtool.statisticsStringSet, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: UInt32(count), toByteOffset: 8, as: UInt32.self)
        }
        guard try call(interface, &strings, "ETHTOOL_GSTRINGS") else { return (driver, []) }
        var values = [UInt8](repeating: 0, count: Ethtool.statisticsHeaderSize + count * 8)
        values.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: Ethtool.getStatistics, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: UInt32(count), toByteOffset: 4, as: UInt32.self)
        }
        guard try call(interface, &values, "ETHTOOL_GSTATS") else { return (driver, []) }
        var result: [(String, UInt64)] = []
        let decoded = strings.withUnsafeBytes { s in
            values.withUnsafeBytes { v in
                Result { () throws(DecodeError) in
                    try Ethtool.forEachStatistic(strings: ByteReader(s), values: ByteReader(v)) { result.append(($0, $1)) }
                }
            }
        }
        try decoding("read \(interface) ethtool statistics") { () throws(DecodeError) in try decoded.get() }
        return (driver, result)
    }

    /// Issues one `SIOCETHTOOL` with `data` as `ifr_data`. False when the driver does not
    /// support the command or the interface vanished.
    private func call(_ interface: String, _ data: inout [UInt8], _ command: String) throws(NetlinkError) -> Bool {
        // struct ifreq: 16 bytes of name, then the union whose first member we use as a pointer.
        var request = [UInt8](repeating: 0, count: 40)
        let name = Array(interface.utf8.prefix(15))
        request.replaceSubrange(0..<name.count, with: name)
        let result = data.withUnsafeMutableBytes { dataBytes in
            request.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: dataBytes.baseAddress, toByteOffset: 16, as: UnsafeMutableRawPointer?.self)
                var r: Int32
                repeat { r = ioctl(fd, Ethtool.ioctlRequest, raw.baseAddress!) } while r == -1 && errno == EINTR
                return r == -1 ? errno : 0
            }
        }
        switch result {
        case 0: return true
        case EOPNOTSUPP, ENODEV, EINVAL, ENXIO: return false
        default: throw NetlinkError("\(command) on \(interface)", .system(Errno(rawValue: result)))
        }
    }
}
