import NIOHTTP1
import Testing

@testable import PathwatchAgent

@Suite("HTTP routing and head scanning (pure)")
struct HTTPRouterTests {
    @Test func routes() {
        #expect(HTTPRouter.decide(method: .GET, uri: "/metrics") == .serve(.metrics))
        #expect(HTTPRouter.decide(method: .HEAD, uri: "/findings?x=1") == .serve(.findings))
        #expect(HTTPRouter.decide(method: .GET, uri: "/healthz#frag") == .serve(.health))
        #expect(HTTPRouter.decide(method: .GET, uri: "/readyz") == .serve(.readiness))
        #expect(HTTPRouter.decide(method: .GET, uri: "/") == .notFound)
        #expect(HTTPRouter.decide(method: .GET, uri: "/metrics/") == .notFound)
        #expect(HTTPRouter.decide(method: .GET, uri: "*") == .notFound)
        #expect(HTTPRouter.decide(method: .POST, uri: "/metrics") == .methodNotAllowed)
        #expect(HTTPRouter.decide(method: .RAW(value: "BREW"), uri: "/nope") == .methodNotAllowed)
    }

    @Test func lineEndScanner() {
        func ends(_ text: String) -> [Int] {
            var scanner = LineEndScanner()
            return text.utf8.enumerated().compactMap { scanner.consume($0.element) ? $0.offset : nil }
        }
        #expect(ends("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == [26])
        #expect(ends("GET / HTTP/1.1\nHost: a\n\n") == [23])
        #expect(ends("GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n") == [17, 35])
        #expect(ends("a\r\rb\r\n") == [])
    }

    @Test func announcedBody() {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
        #expect(!head.announcesBody)
        head.headers.replaceOrAdd(name: "Content-Length", value: "0")
        #expect(!head.announcesBody)
        head.headers.replaceOrAdd(name: "Content-Length", value: " 12 ")
        #expect(head.announcesBody)
        #expect(head.announcedContentLength == 12)
        head.headers.add(name: "Transfer-Encoding", value: "chunked")
        #expect(head.announcesBody)
        #expect(head.announcedContentLength == nil)
    }
}
