import Foundation
import Logging
import Netlink
import PathwatchCore
import Synchronization

@testable import PathwatchAgent

/// Drives the hairpin and self-sourced SYN slices through a fixed scenario for the golden test.
enum GoldenHairpinScript {
    typealias T = HairpinFindingsGoldenTests

    /// Mutable test time: the monotonic instant drives the windows, the date is displayed.
    final class Times: Sendable {
        let base = ContinuousClock.now
        let t0: Date
        private let offset = Mutex<Double>(0)
        init(t0: Date) { self.t0 = t0 }
        func set(_ seconds: Double) { offset.withLock { $0 = seconds } }
        var instant: ContinuousClock.Instant { base + .seconds(offset.withLock { $0 }) }
        var date: Date { t0 + offset.withLock { $0 } }
    }

    static func run(findings: FindingsRegistry, t0: Date) throws {
        let logger = Logger(label: "golden")
        let times = Times(t0: t0)
        let local: Set<IPAddress> = ["10.0.1.10", "10.0.1.20", "10.0.1.21"].map { IPAddress($0)! }.reduce(into: []) { $0.insert($1) }
        // Pod hairpin: one unanswered, one answered, through 10.0.9.9:80.
        let hairpin = HairpinService(
            settings: AgentConfig.HairpinSettings(), findings: findings, logger: logger,
            localEndpoints: { LocalEndpoints(addresses: local) },
            clock: { times.instant }, wallClock: { times.date })
        hairpin.consume([
            ConntrackEvent(type: .new, flow: T.flow(1, "10.0.1.20", 35220, "10.0.9.9", 80)),
            ConntrackEvent(type: .new, flow: T.flow(2, "10.0.1.20", 35220, "10.0.1.21", 8080)),
        ])
        times.set(1)
        hairpin.consume([ConntrackEvent(type: .destroy, flow: T.flow(2, "10.0.1.20", 35220, "10.0.1.21", 8080))])
        times.set(2)
        hairpin.consume([
            ConntrackEvent(type: .new, flow: T.flow(3, "10.0.1.20", 35221, "10.0.1.21", 8080)),
            ConntrackEvent(type: .new, flow: T.flow(4, "10.0.1.20", 35221, "10.0.9.9", 80)),
            ConntrackEvent(type: .update, flow: T.flow(3, "10.0.1.20", 35221, "10.0.1.21", 8080, status: [.assured])),
            ConntrackEvent(type: .destroy, flow: T.flow(3, "10.0.1.20", 35221, "10.0.1.21", 8080, status: [.assured])),
        ])

        // Instance hairpin from the probe: a named frontend and an unknown one.
        let probe = FakeSynProbe()
        probe.flows = [SelfSourcedSynControllerTests.outbound(40000), SelfSourcedSynControllerTests.outbound(40001)]
        let probing = SelfSourcedSynController(
            sources: .init(
                installProbe: { probe }, martian: FakeMartianCounter(), interfaceName: { $0 == 2 ? "eth0" : nil },
                localEndpoints: { LocalEndpoints(addresses: local) }),
            slice: SelfSourcedSynSlice(settings: AgentConfig.HairpinSettings()), logGroup: 196, findings: findings, logger: logger,
            wallClock: { times.date })
        probing.installIfDue(at: times.instant)
        for (i, port) in [UInt16(40000), 40000, 40001].enumerated() {
            times.set(3 + Double(i))
            probe.packets = [T.syn("10.0.1.10", port, "10.0.1.10", 8080)]
            _ = probing.receive(waitingUpTo: .zero, at: times.instant)
        }
        times.set(7)
        var unnamed = T.syn("10.0.1.10", 41000, "10.0.1.10", 9090)
        unnamed.inputInterface = nil
        probe.packets = [unnamed]
        _ = probing.receive(waitingUpTo: .zero, at: times.instant)

        // Counter mode: in_martian_src rises by 3.
        let counter = FakeMartianCounter()
        let counting = SelfSourcedSynController(
            sources: .init(
                installProbe: nil, martian: counter, interfaceName: { _ in nil }, localEndpoints: { LocalEndpoints(addresses: local) }),
            slice: SelfSourcedSynSlice(settings: AgentConfig.HairpinSettings()), logGroup: 196, findings: findings, logger: logger,
            wallClock: { times.date })
        times.set(8)
        counter.value = 10
        counting.tick(at: times.instant)
        times.set(9)
        counter.value = 13
        counting.tick(at: times.instant)
    }
}
