import Netlink
import PathwatchCore

/// The parsers of text the agent reads from the machine and the metadata service.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    _ = ProcNetTable.parse(text)
    _ = try? RouteCacheStatistics.parse(text)
    _ = try? InstanceMetadata.token(bytes)
    _ = try? InstanceMetadata.macs(bytes)
    _ = try? InstanceMetadata.prefixes(bytes, "vpc-ipv4-cidr-blocks", family: .inet)
    _ = try? InstanceMetadata.deviceNumber(bytes)
    _ = IPAddress(text)
    _ = IPPrefix(text)
    _ = ListenAddress(text)
    return 0
}
