import CompressNIO
import NIOCore
import NIOHTTP1
import PathwatchCore

/// gzip for `/metrics` (issue 12): Prometheus always asks for it, and the page shrinks about
/// sevenfold. Only for a client that names gzip in `Accept-Encoding` with a non-zero weight: a
/// wildcard or no header gets the plain page, so no client ever receives bytes it did not ask for.
enum ContentEncoding {
    /// Whether `Accept-Encoding` (all its field lines) accepts gzip.
    static func acceptsGzip(_ headers: HTTPHeaders) -> Bool {
        headers[canonicalForm: "accept-encoding"].contains { element in
            let parts = element.split(separator: ";").map { $0.trimmingWhitespace() }
            guard let coding = parts.first?.lowercased(), coding == "gzip" || coding == "x-gzip" else { return false }
            guard let weight = parts.dropFirst().first(where: { $0.lowercased().hasPrefix("q=") }) else { return true }
            return (Double(weight.dropFirst(2)) ?? 0) > 0
        }
    }

    /// The body gzipped, or nil if zlib failed (then it is sent plain).
    static func gzip(_ body: [UInt8]) -> [UInt8]? {
        var buffer = ByteBuffer(bytes: body)
        guard var compressed = try? buffer.compress(with: .gzip()) else { return nil }
        return compressed.readBytes(length: compressed.readableBytes)
    }
}
