import Netlink
import Testing

/// Decoding of ctnetlink messages recorded from kernel 6.18 (see Fixtures/conntrack/README.md).
@Suite struct ConntrackFixtureTests {
    let loopback4 = IPAddress("127.0.0.1")!
    let loopback6 = IPAddress("::1")!

    @Test func tcp4ConnectionLifecycle() throws {
        let events = try events(.tcp4)
        #expect(events.map(\.type) == [.new, .update, .update, .update, .update, .update, .update, .destroy])
        // The client closed first: every state the kernel walked through, then the flush.
        #expect(
            events.map { $0.flow.tcpState?.name } == [
                "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "TIME_WAIT",
            ])
        for event in events {
            let flow = event.flow
            #expect(flow.family == .inet)
            #expect(flow.id == 0x391F_2C49)
            #expect(
                flow.original
                    == FlowTuple(source: loopback4, destination: loopback4, protocolNumber: .tcp, sourcePort: 40001, destinationPort: 8080))
            #expect(
                flow.reply
                    == FlowTuple(source: loopback4, destination: loopback4, protocolNumber: .tcp, sourcePort: 8080, destinationPort: 40001))
            #expect(flow.mark == nil)
            #expect(flow.zone == nil)
        }

        let new = events[0].flow
        #expect(new.status == [.confirmed])
        #expect(new.timeout == 120)
        #expect(new.timestamps == nil)
        #expect(new.originalCounters == nil)

        #expect(events[1].flow.status == [.confirmed, .seenReply])
        #expect(events[2].flow.status == [.confirmed, .seenReply, .assured])
        #expect(events[2].flow.timeout == 432_000)  // ESTABLISHED: five days

        let destroyed = events[7].flow
        #expect(destroyed.status == [.confirmed, .seenReply, .assured, .dying])
        #expect(destroyed.timeout == 119)
        #expect(destroyed.originalCounters == ConntrackCounters(packets: 6, bytes: 325))
        #expect(destroyed.replyCounters == ConntrackCounters(packets: 5, bytes: 273))
        #expect(destroyed.timestamps == ConntrackTimestamps(start: 1_795_503_035_272_412_313, stop: 1_795_503_035_528_386_548))
        // CTA_TIMESTAMP_EVENT: each event is stamped when queued, in order. The NEW event's stamp
        // precedes CTA_TIMESTAMP_START by microseconds (the start is taken at confirmation).
        let stamps = events.compactMap(\.flow.eventTimestamp)
        #expect(stamps.count == events.count)
        #expect(stamps == stamps.sorted())
        #expect(stamps[0] == 1_795_503_035_272_407_701)
    }

    @Test func tcp6Flow() throws {
        let events = try events(.tcp6)
        #expect(events.map(\.type) == [.new] + Array(repeating: .update, count: 6) + [.destroy])
        let flow = events[0].flow
        #expect(flow.family == .inet6)
        #expect(flow.id == 0xCB46_39B1)
        #expect(
            flow.original
                == FlowTuple(source: loopback6, destination: loopback6, protocolNumber: .tcp, sourcePort: 40002, destinationPort: 8080))
        #expect(flow.reply.sourcePort == 8080)
        #expect(flow.tcpState == .synSent)
        #expect(events[7].flow.originalCounters == ConntrackCounters(packets: 6, bytes: 445))
    }

    @Test func udp4FlowWithZoneAndMark() throws {
        let events = try events(.udp4)
        #expect(events.map(\.type) == [.new, .update, .destroy])
        for event in events {
            #expect(
                event.flow.original
                    == FlowTuple(source: loopback4, destination: loopback4, protocolNumber: .udp, sourcePort: 40003, destinationPort: 9999))
            #expect(event.flow.zone == 7)
            #expect(event.flow.mark == 0x2A)
            #expect(event.flow.tcpState == nil)
        }
        #expect(events[0].flow.timeout == 30)
        #expect(events[1].flow.status == [.confirmed, .seenReply])
        #expect(events[2].flow.replyCounters == ConntrackCounters(packets: 1, bytes: 32))
    }

    @Test func icmp4EchoFlow() throws {
        let events = try events(.icmp4)
        #expect(events.map(\.type) == [.new, .update, .destroy])
        let flow = events[0].flow
        #expect(flow.original.protocolNumber == .icmp)
        #expect(flow.original.icmpID == 0x1234)
        #expect(flow.original.icmpType == 8)
        #expect(flow.original.icmpCode == 0)
        #expect(flow.original.sourcePort == nil)
        #expect(flow.reply.icmpType == 0)  // echo reply
        #expect(flow.reply.icmpID == 0x1234)
    }

    @Test func tableDump() throws {
        let messages = try ConntrackFixture.dump.messages
        #expect(messages.count == 3)  // two flows, then NLMSG_DONE
        let flows = try messages.dropLast().map { bytes in try withMessage(bytes) { try ConntrackFlow($0) } }
        // Rows come in hash-table order, which changes from recording to recording.
        let tcp = try #require(flows.first { $0.original.protocolNumber == .tcp })
        let udp = try #require(flows.first { $0.original.protocolNumber == .udp })
        #expect(tcp.original.sourcePort == 40004)
        #expect(tcp.original.destinationPort == 8081)
        #expect(tcp.tcpState == .established)
        #expect(tcp.mark == 0)  // dumps include a zero mark; events omit it
        #expect(tcp.timestamps?.stop == nil)
        #expect(tcp.originalCounters != nil)
        #expect(udp.original.sourcePort == 40005)
        #expect(udp.zone == 7)
        #expect(udp.mark == 0x2A)
        // A dump row is IPCTNL_MSG_CT_NEW without NLM_F_CREATE: as an event it reads as an update.
        #expect(try withMessage(messages[0]) { try ConntrackEvent($0)?.type } == .update)
    }

    @Test func perCPUStatistics() throws {
        let messages = try ConntrackFixture.statsCPU.messages
        let perCPU = try messages.filter { $0[4] == 4 }.map { bytes in try withMessage(bytes) { try ConntrackCPUStatistics($0) } }
        #expect(perCPU.map(\.cpu) == [0, 1])
        // A fresh namespace whose flows were all confirmed cleanly: nothing to count.
        #expect(ConntrackStatistics(perCPU: perCPU).total == ConntrackCPUStatistics())
    }

    @Test func globalStatistics() throws {
        let messages = try ConntrackFixture.statsGlobal.messages
        // The reply (flagged NLM_F_MULTI by the kernel), then the ACK the request asked for.
        #expect(messages.map { $0[4] } == [5, 2])
        let global = try withMessage(messages[0]) { try ConntrackGlobalStatistics($0) }
        #expect(global == ConntrackGlobalStatistics(entries: 0, maxEntries: 262_144))
    }
}

/// Synthetic messages for what the recordings cannot show.
@Suite struct ConntrackSyntheticTests {
    typealias B = MessageBuilder

    @Test func perCPUAttributesMapToFieldsAndSum() throws {
        // CTA_STATS_FOUND=2, INVALID=4, INSERT=8 ... CHAIN_TOOLONG=15; 3 and 5 are retired.
        let numbers: [UInt16] = [2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 99]
        func message(cpu: UInt16, base: UInt32) -> [UInt8] {
            var body: [UInt8] = [0, 0] + B.network(cpu)
            for n in numbers { body += B.attribute(n, B.network(base + UInt32(n))) }
            return B.message(type: ConntrackMessageType.getStatisticsCPU, flags: .multi, body: body)
        }
        let cpu0 = try withMessage(message(cpu: 0, base: 0)) { try ConntrackCPUStatistics($0) }
        let cpu3 = try withMessage(message(cpu: 3, base: 1000)) { try ConntrackCPUStatistics($0) }
        #expect(cpu3.cpu == 3)
        #expect(
            [
                cpu0.found, cpu0.invalid, cpu0.insert, cpu0.insertFailed, cpu0.drop, cpu0.earlyDrop,
                cpu0.error, cpu0.searchRestart, cpu0.clashResolve, cpu0.chainTooLong,
            ] == [2, 4, 8, 9, 10, 11, 12, 13, 14, 15])
        let total = ConntrackStatistics(perCPU: [cpu0, cpu3]).total
        #expect(total.cpu == nil)
        #expect(total.found == 1004)
        #expect(total.chainTooLong == 1030)
    }

    @Test func unknownAttributesAreSkippedAndNestedFlagIsOptional() throws {
        let ip = B.attribute(1, B.network(UInt32(0x0A00_0001))) + B.attribute(2, B.network(UInt32(0x0A00_0002)))
        let proto = B.attribute(1, [17]) + B.attribute(2, B.network(UInt16(5353))) + B.attribute(3, B.network(UInt16(53)))
        // Kernels before 5.2 sent nests without NLA_F_NESTED; the tuple decodes either way.
        let tuple = B.attribute(1, nested: true, ip) + B.attribute(2, nested: false, proto)
        let body: [UInt8] =
            [2, 0, 0, 0]
            + B.attribute(1, nested: true, tuple) + B.attribute(2, nested: true, tuple)
            + B.attribute(250, [1, 2, 3]) + B.attribute(3, B.network(UInt32(0x8)))
        let event = try withMessage(B.message(type: ConntrackMessageType.new, flags: .create, body: body)) { try ConntrackEvent($0) }
        #expect(event?.type == .new)
        #expect(event?.flow.original.destinationPort == 53)
        #expect(event?.flow.original.source == IPAddress("10.0.0.1"))
    }

    @Test func missingTupleIsAnErrorNamingIt() throws {
        let body: [UInt8] = [2, 0, 0, 0] + B.attribute(3, B.network(UInt32(8)))
        let error = #expect(throws: DecodeError.self) {
            try withMessage(B.message(type: ConntrackMessageType.delete, body: body)) { try ConntrackEvent($0) }
        }
        #expect(error?.reason == "CTA_TUPLE_ORIG missing")
    }

    @Test func truncatedAttributeNamesAttributeAndOffset() throws {
        var bytes = try ConntrackFixture.tcp4.messages[0]
        // Claim that CTA_STATUS (at a known place in the recorded message) is a u16.
        let statusOffset = try #require(findAttribute(3, in: bytes))
        bytes[statusOffset] = 6
        bytes[statusOffset + 1] = 0
        let error = #expect(throws: DecodeError.self) { try withMessage(bytes) { try ConntrackEvent($0) } }
        #expect(error?.context == "CTA_STATUS")
        #expect(error?.offset == statusOffset + 4)
    }

    @Test func otherSubsystemsAreNotEvents() throws {
        // NFNL_SUBSYS_CTNETLINK_EXP (2) << 8 | IPCTNL_MSG_EXP_NEW.
        let message = B.message(type: 0x0200, body: [2, 0, 0, 0])
        #expect(try withMessage(message) { try ConntrackEvent($0) } == nil)
    }

    @Test func statusNamesMatchTheKernelBits() {
        #expect(ConntrackStatus.dying.rawValue == 0x200)
        #expect(ConntrackStatus.hardwareOffload.rawValue == 0x8000)
        #expect(TCPConntrackState(rawValue: 2).name == "SYN_RECV")
        #expect(TCPConntrackState(rawValue: 200).name == "UNKNOWN(200)")
    }

    /// The offset of the top-level attribute `type` in a ctnetlink message.
    private func findAttribute(_ type: UInt16, in bytes: [UInt8]) -> Int? {
        var offset = 20
        while offset + 4 <= bytes.count {
            let length = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
            let t = (UInt16(bytes[offset + 2]) | UInt16(bytes[offset + 3]) << 8) & 0x3FFF
            if t == type { return offset }
            guard length >= 4 else { return nil }
            offset += (length + 3) & ~3
        }
        return nil
    }
}
