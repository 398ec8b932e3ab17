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

    /// The raise comes from a thread of its own and the wait is timed where it happens, so a busy
    /// test runner (other suites holding the pool) cannot make the wait look long.
    @Test func raisingWakesAWaiterAtOnceAndStaysRaised() {
        let signal = WakeSignal()
        Thread {
            Thread.sleep(forTimeInterval: 0.05)
            signal.raise()
        }.start()
        let started = ContinuousClock.now
        #expect(signal.wait(timeoutMilliseconds: 10_000) == .woken)
        #expect(ContinuousClock.now - started < .seconds(5), "woken by the signal, not by the 10 s timeout")
        #expect(signal.wait(timeoutMilliseconds: -1) == .woken, "a raised signal ends every later wait at once")
    }

    /// A subscription socket with no idle timeout sleeps until the kernel speaks or the signal
    /// is raised: receive returns false (nothing read) and the watcher sees its stop flag.
    @Test func aSubscriptionReceiveReturnsWhenTheSignalIsRaised() throws {
        let events = try RtnetlinkEventSocket(receiveBufferBytes: 1 << 16, groups: [.ipv4Rule])
        let signal = WakeSignal()
        events.socket.wakeOnSignal(signal)
        Thread {
            Thread.sleep(forTimeInterval: 0.05)
            signal.raise()
        }.start()
        #expect(try events.receiveEvents({ _ in }, onDecodeError: { _ in }) == false)
    }

    @Test func anIdleTimeoutBoundsTheWait() throws {
        let events = try RtnetlinkEventSocket(receiveBufferBytes: 1 << 16, groups: [.ipv4Rule])
        events.socket.wakeOnSignal(WakeSignal(), idleTimeoutMilliseconds: 30)
        #expect(try events.receiveEvents({ _ in }, onDecodeError: { _ in }) == false)
    }
}
