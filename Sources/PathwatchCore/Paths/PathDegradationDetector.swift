import Foundation
import Netlink

/// Decides, from sampling rounds and an injected clock (each sample's time), whether the public
/// path, the private path, or both are degraded, with hysteresis both ways.
///
/// Over a sliding window it sums each class's bytes sent and retransmitted and its active and
/// collapsed sockets. A class is *lossy* when it sent at least `minBytes` in the window and its
/// retransmit ratio, or the share of its active sockets with a collapsed congestion window,
/// reaches its threshold. A class is *raised* once lossy continuously for `sustainSeconds`, and
/// lowered once not lossy (healthy or idle) continuously for `clearSeconds`.
///
/// The verdict compares the two: public raised alone is the incident (the edge path is bad,
/// the node is fine); private alone points at the provider network or the peers; both at once
/// points at the node itself (its NIC, its CPU, its qdisc), not at either path.
public struct PathDegradationDetector: Sendable {
    public struct Settings: Sendable, Equatable {
        public var windowSeconds = 30.0
        public var sustainSeconds = 20.0
        public var clearSeconds = 30.0
        /// Retransmitted bytes / sent bytes at or above which a class is lossy.
        public var retransmitRatio = 0.02
        /// Share of active sockets with a collapsed cwnd at or above which a class is lossy.
        public var collapsedShare = 0.5
        /// Bytes a class must send in the window before it is judged at all.
        public var minBytes: UInt64 = 256 * 1024
        public init() {}
    }

    public enum Verdict: String, Sendable, Hashable {
        case healthy
        /// Public degraded, private healthy or idle: the incident.
        case `public`
        /// Private degraded, public healthy or idle.
        case `private`
        /// Both degraded: the node itself.
        case node
    }

    public enum ClassStatus: String, Sendable, Hashable {
        /// Fewer than `minBytes` sent in the window: not judged.
        case idle
        case healthy
        case lossy
    }

    /// One class over the window.
    public struct ClassWindow: Sendable, Hashable {
        public var status: ClassStatus = .idle
        public var raised = false
        public var bytesSent: UInt64 = 0
        public var bytesRetransmitted: UInt64 = 0
        public var retransmittedSegments: UInt64 = 0
        public var activeSocketRounds = 0
        public var collapsedSocketRounds = 0
        /// The latest round: sockets, windows, RTTs as they are now.
        public var latest = ClassSample()

        public var retransmitRatio: Double { bytesSent == 0 ? 0 : Double(bytesRetransmitted) / Double(bytesSent) }
        public var collapsedShare: Double {
            activeSocketRounds == 0 ? 0 : Double(collapsedSocketRounds) / Double(activeSocketRounds)
        }
    }

    public struct Assessment: Sendable, Hashable {
        public var time: Date
        public var verdict: Verdict
        public var classes: [PathClass: ClassWindow]
        /// The worst peers over the window, worst first.
        public var worstPeers: [PeerSample]
        public var windowSeconds: Double

        public subscript(_ path: PathClass) -> ClassWindow { classes[path] ?? ClassWindow() }
    }

    private struct ClassState: Sendable {
        var lossySince: Date?
        var notLossySince: Date?
        var raised = false
    }

    public let settings: Settings
    private var window: [PathSample] = []
    private var states: [PathClass: ClassState] = [.public: ClassState(), .private: ClassState()]
    private let worstPeers: Int

    public init(settings: Settings = Settings(), worstPeers: Int = 5) {
        self.settings = settings
        self.worstPeers = worstPeers
    }

    /// Adds a round and judges the window ending at its time.
    public mutating func ingest(_ sample: PathSample) -> Assessment {
        let now = sample.time
        if sample.hasDeltas { window.append(sample) }
        window.removeAll { now.timeIntervalSince($0.time) >= settings.windowSeconds }
        var classes: [PathClass: ClassWindow] = [:]
        for path in PathClass.allCases {
            var w = ClassWindow()
            for s in window {
                let c = s[path]
                w.bytesSent += c.bytesSent
                w.bytesRetransmitted += c.bytesRetransmitted
                w.retransmittedSegments += c.retransmittedSegments
                w.activeSocketRounds += c.activeSockets
                w.collapsedSocketRounds += c.collapsedSockets
            }
            w.latest = sample[path]
            if w.bytesSent < settings.minBytes {
                w.status = .idle
            } else if w.retransmitRatio >= settings.retransmitRatio || w.collapsedShare >= settings.collapsedShare {
                w.status = .lossy
            } else {
                w.status = .healthy
            }
            var state = states[path]!
            if w.status == .lossy {
                state.notLossySince = nil
                if state.lossySince == nil { state.lossySince = now }
                if now.timeIntervalSince(state.lossySince!) >= settings.sustainSeconds { state.raised = true }
            } else {
                state.lossySince = nil
                if state.notLossySince == nil { state.notLossySince = now }
                if now.timeIntervalSince(state.notLossySince!) >= settings.clearSeconds { state.raised = false }
            }
            states[path] = state
            w.raised = state.raised
            classes[path] = w
        }
        let verdict: Verdict =
            switch (classes[.public]!.raised, classes[.private]!.raised) {
            case (true, true): .node
            case (true, false): .public
            case (false, true): .private
            case (false, false): .healthy
            }
        var peers: [IPAddress: PeerSample] = [:]
        for s in window {
            for peer in s.worstPeers { peers[peer.address, default: PeerSample(address: peer.address, path: peer.path)].merge(peer) }
        }
        let worst = Array(peers.values.sorted(by: PeerSample.worse).prefix(worstPeers))
        return Assessment(time: now, verdict: verdict, classes: classes, worstPeers: worst, windowSeconds: settings.windowSeconds)
    }
}
