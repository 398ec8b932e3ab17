import Logging
import PathwatchCore
import ServiceLifecycle
import Synchronization

/// Keeps ``PodNames`` current: lists the pods on this node (`fieldSelector=spec.nodeName`),
/// then watches from the list's `resourceVersion`. A watch that ends is resumed from the last
/// version seen; one that breaks (410 Gone, garbage, a dropped connection) is followed by a
/// fresh list after a backoff. The last good directory stays in use meanwhile.
final class PodWatcher: Service {
    private let client: KubernetesClient
    private let node: String
    private let names: PodNames
    private let logger: Logger
    /// The server ends each watch after this long (`timeoutSeconds`); it is then resumed.
    private let watchSeconds: Int

    init(client: KubernetesClient, node: String, names: PodNames, watchSeconds: Int = 300, logger: Logger) {
        self.client = client
        self.node = node
        self.names = names
        self.watchSeconds = watchSeconds
        self.logger = logger
    }

    private var selector: String { "fieldSelector=spec.nodeName%3D\(node)" }

    func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            var backoff = RetryBackoff()
            var health = APIHealthLog(what: "pod names")
            while !Task.isCancelled {
                do {
                    try await listAndWatch(onListed: {
                        backoff.succeeded()
                        health.succeeded(logger)
                    })
                } catch {
                    if Task.isCancelled { break }  // shutting down, not a failure of the API
                    let failure = error as? KubernetesAPIError ?? .unreachable("\(error)")
                    let wait = backoff.failed()
                    health.failed(failure, retryIn: wait, logger)
                    try? await Task.sleep(for: wait)
                }
            }
        }
    }

    /// One list, then watches until one breaks (thrown).
    private func listAndWatch(onListed: () -> Void) async throws {
        let body = try await client.send(.list, "/api/v1/pods?\(selector)")
        let (pods, listVersion): ([Pod], String)
        do {
            (pods, listVersion) = try PodWire.list(body)
        } catch {
            throw KubernetesAPIError.invalidAnswer(error.description)
        }
        names.update { $0.replaceAll(with: pods) }
        logger.debug("pods on this node listed", metadata: ["pods": "\(names.count)"])
        onListed()
        var version = listVersion
        while !Task.isCancelled {
            let path =
                "/api/v1/pods?\(selector)&watch=true&allowWatchBookmarks=true&timeoutSeconds=\(watchSeconds)&resourceVersion=\(version)"
            let seen = ResourceVersion(version)
            try await client.watch(path, deadlineSeconds: Double(watchSeconds) + 30) { [names] line in
                switch try Self.decode(line) {
                case .change(let change, let resourceVersion):
                    names.update { $0.apply(change) }
                    seen.set(resourceVersion)
                case .bookmark(let resourceVersion):
                    seen.set(resourceVersion)
                case .error(let code, let message):
                    throw KubernetesAPIError.status(code, message)
                }
            }
            version = seen.value
        }
    }

    private static func decode(_ line: [UInt8]) throws(KubernetesAPIError) -> PodWire.WatchLine {
        do {
            return try PodWire.watchLine(line)
        } catch {
            throw .invalidAnswer(error.description)
        }
    }
}

/// The last resourceVersion a watch delivered, written from the watch's line callback.
private final class ResourceVersion: Sendable {
    private let storage: Mutex<String>
    init(_ initial: String) { storage = Mutex(initial) }
    func set(_ value: String) { if !value.isEmpty { storage.withLock { $0 = value } } }
    var value: String { storage.withLock { $0 } }
}
