// netlink-record: records raw netlink messages from this kernel as test fixtures.
//
//   netlink-record dump DIR          links, addresses, routes, rules and neighbours, one file per dump
//   netlink-record events DIR SECS   rtnetlink change events for SECS seconds
//   netlink-record sockdiag DIR      established TCP sockets with tcp_info, IPv4 and IPv6
//
// Each file holds the messages back to back, exactly as the kernel sent them (NLMSG_DONE
// excluded). scripts/record-rtnetlink-fixtures builds the namespace the fixtures describe.
import Foundation
import Netlink
import NetlinkIO

func write(_ messages: [[UInt8]], to path: String) throws {
    let bytes = messages.flatMap { $0 }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    print("\(path): \(messages.count) messages, \(bytes.count) bytes")
}

func record(_ socket: NetlinkSocket, _ request: NetlinkRequest, _ name: String) throws -> [[UInt8]] {
    var messages: [[UInt8]] = []
    try socket.request(request, name) { message in messages.append(message.whole.array()) }
    return messages
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: netlink-record dump DIR | events DIR SECONDS | sockdiag DIR\n".utf8))
    exit(2)
}
let directory = arguments[2]
do {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    switch arguments[1] {
    case "dump":
        let socket = try NetlinkSocket(bus: .route)
        try socket.setReceiveTimeout(milliseconds: 5000)
        try write(try record(socket, .dumpLinks(), "links"), to: "\(directory)/links.bin")
        try write(try record(socket, .dumpAddresses(), "addresses"), to: "\(directory)/addresses.bin")
        try write(try record(socket, .dumpRoutes(family: .inet), "routes4"), to: "\(directory)/routes-ipv4.bin")
        try write(try record(socket, .dumpRoutes(family: .inet6), "routes6"), to: "\(directory)/routes-ipv6.bin")
        try write(try record(socket, .dumpRules(family: .inet), "rules4"), to: "\(directory)/rules-ipv4.bin")
        try write(try record(socket, .dumpRules(family: .inet6), "rules6"), to: "\(directory)/rules-ipv6.bin")
        try write(try record(socket, .dumpNeighbours(), "neighbours"), to: "\(directory)/neighbours.bin")
    case "events":
        let seconds = Double(arguments.count > 3 ? arguments[3] : "3") ?? 3
        let events = try RtnetlinkEventSocket(receiveBufferBytes: 1 << 20)
        FileHandle.standardOutput.write(Data("ready\n".utf8))
        var messages: [[UInt8]] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            _ = try events.socket.receive("events") { datagram throws(NetlinkError) in
                var iterator = MessageIterator(datagram)
                while let message = try decoding("events", { () throws(DecodeError) in try iterator.next() }) {
                    messages.append(message.whole.array())
                }
            }
        }
        try write(messages, to: "\(directory)/events.bin")
    case "sockdiag":
        let socket = try NetlinkSocket(bus: .sockDiag)
        try socket.setReceiveTimeout(milliseconds: 5000)
        try write(try record(socket, .dumpTCPSockets(family: .inet), "tcp4"), to: "\(directory)/tcp4-established.bin")
        try write(try record(socket, .dumpTCPSockets(family: .inet6), "tcp6"), to: "\(directory)/tcp6-established.bin")
    default:
        FileHandle.standardError.write(Data("netlink-record: unknown mode \(arguments[1])\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("netlink-record: \(error)\n".utf8))
    exit(1)
}
