import Glibc
import Testing

@testable import NetlinkIO

/// `recvmmsg` batches over a datagram socket pair: the same kernel path a netlink subscription
/// takes, without root. What matters for the conntrack watcher: every queued datagram is read
/// once and in order, a batch stops at the queue's end, and an over-long datagram arrives cut
/// to its slot (so the reader's decode-failure policy sees it) instead of spilling into the next.
@Suite("Datagram batches (recvmmsg)")
struct DatagramBatchTests {
    private final class Pair {
        let reader: Int32
        let writer: Int32
        init() throws {
            var fds: [Int32] = [0, 0]
            let status = socketpair(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0, &fds)
            try #require(status == 0)
            // Room for every datagram the tests queue.
            var size: Int32 = 1 << 20
            setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            reader = fds[0]
            writer = fds[1]
        }
        deinit {
            close(reader)
            close(writer)
        }
        func send(_ bytes: [UInt8]) {
            _ = bytes.withUnsafeBytes { Glibc.send(writer, $0.baseAddress, $0.count, 0) }
        }
    }

    @Test func takesEveryQueuedDatagramInOrderAcrossBatches() throws {
        let pair = try Pair()
        for index in 0..<100 { pair.send([UInt8(index), UInt8(index), 0xAB]) }
        let batch = DatagramBatch(slots: 64, slotSize: 256)
        var seen: [UInt8] = []
        for _ in 0..<3 {
            guard case .success(let count) = batch.receive(from: pair.reader, limit: 64) else { break }
            for slot in 0..<count {
                let datagram = batch.datagram(slot)
                #expect(datagram.count == 3)
                seen.append(datagram[0])
            }
        }
        #expect(seen == (0..<100).map { UInt8($0) })
    }

    @Test func anEmptyQueueIsWouldBlockNotAWait() throws {
        let pair = try Pair()
        let batch = DatagramBatch(slots: 8, slotSize: 64)
        guard case .failure(let error) = batch.receive(from: pair.reader, limit: 8) else {
            Issue.record("an empty queue returned datagrams")
            return
        }
        #expect(error == .wouldBlock || error == .resourceTemporarilyUnavailable)
    }

    @Test func aLimitBelowTheSlotsIsKept() throws {
        let pair = try Pair()
        for index in 0..<10 { pair.send([UInt8(index)]) }
        let batch = DatagramBatch(slots: 8, slotSize: 64)
        #expect(batch.receive(from: pair.reader, limit: 3) == .success(3))
        #expect(batch.datagram(2).first == 2)
        #expect(batch.receive(from: pair.reader, limit: 100) == .success(7), "at most the slots, and what is left")
    }

    @Test func anOverlongDatagramIsCutToItsSlotAndTheNextOneIsIntact() throws {
        let pair = try Pair()
        pair.send([UInt8](repeating: 0x11, count: 300))
        pair.send([0x22, 0x22])
        let batch = DatagramBatch(slots: 4, slotSize: 128)
        #expect(batch.receive(from: pair.reader, limit: 4) == .success(2))
        #expect(batch.datagram(0).count == 128)
        #expect(Array(batch.datagram(1)) == [0x22, 0x22])
    }
}
