import Logging
import Netlink
import Synchronization
import Testing

@testable import PathwatchAgent

/// The one policy for messages that do not decode: every one counted, each kind logged once.
@Suite("Decode failure policy")
struct DecodeFailureLogTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
    }

    struct Capture: LogHandler {
        let sink: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            sink.lines.withLock { $0.append("\(event.message) \(event.metadata?["error"].map { "\($0)" } ?? "")") }
        }
    }

    @Test func everyFailureIsCountedAndEachKindLoggedOnce() {
        let sink = Lines()
        let counted = Mutex(0)
        var log = DecodeFailureLog(socketName: "conntrack", logger: Logger(label: "t", factory: { _ in Capture(sink: sink) })) {
            counted.withLock { $0 += 1 }
        }
        for _ in 0..<100 { log.skipped(DecodeError("CTA_TUPLE_ORIG", "truncated")) }
        log.skipped(DecodeError("CTA_PROTOINFO", "bad length"))
        #expect(counted.withLock { $0 } == 101)
        let lines = sink.lines.withLock { $0 }
        #expect(lines.count == 2, "\(lines)")
        #expect(lines.first?.contains("CTA_TUPLE_ORIG") == true)
    }
}
