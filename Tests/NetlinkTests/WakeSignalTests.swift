import Foundation
import Netlink
import Testing

@testable import NetlinkIO

/// The wait every watcher thread blocks in: the kernel or a stop request wakes it, nothing else.
@Suite("Wake signal")
struct WakeSignalTests {
    @Test func aWaitTimesOutWhenNothingHappens() {
        let signal = WakeSignal()
        #expect(signal.wait(timeoutMilliseconds: 20) == .timedOut)
        #expect(!signal.isRaised)
    }

    @Test func raisingWakesAWaiterAtOnceAndStaysRaised() async {
        let signal = WakeSignal()
        let started = ContinuousClock.now
        let waiter = Task { await onOwnThread { signal.wait(timeoutMilliseconds: 10_000) } }
        try? await Task.sleep(for: .milliseconds(50))
        signal.raise()
        #expect(await waiter.value == .woken)
        #expect(ContinuousClock.now - started < .seconds(5), "woken by the signal, not by the 10 s timeout")
        #expect(signal.wait(timeoutMilliseconds: -1) == .woken, "a raised signal ends every later wait at once")
    }

    /// A subscription socket with no idle timeout sleeps until the kernel speaks or the signal
    /// is raised: receive returns false (nothing read) and the watcher sees its stop flag.
    @Test func aSubscriptionReceiveReturnsWhenTheSignalIsRaised() async throws {
        let events = try RtnetlinkEventSocket(receiveBufferBytes: 1 << 16, groups: [.ipv4Rule])
        let signal = WakeSignal()
        events.socket.wakeOnSignal(signal)
        let receiver = Task {
            await onOwnThread { (try? events.receiveEvents({ _ in }, onDecodeError: { _ in })) ?? true }
        }
        try await Task.sleep(for: .milliseconds(50))
        signal.raise()
        #expect(await receiver.value == false)
    }

    @Test func anIdleTimeoutBoundsTheWait() throws {
        let events = try RtnetlinkEventSocket(receiveBufferBytes: 1 << 16, groups: [.ipv4Rule])
        events.socket.wakeOnSignal(WakeSignal(), idleTimeoutMilliseconds: 30)
        #expect(try events.receiveEvents({ _ in }, onDecodeError: { _ in }) == false)
    }
}

/// Runs a blocking wait off Swift concurrency's pool (two cores are two pool threads: two
/// blocked tests would starve the task that raises the signal), as the agent's watcher threads do.
private func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}
