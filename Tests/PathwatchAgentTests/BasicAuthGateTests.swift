import Foundation
import HummingbirdBcrypt
import Synchronization
import Testing

@testable import PathwatchAgent

@Suite("Basic auth: decision, cache and bcrypt budget")
struct BasicAuthGateTests {
    /// A clock the test moves, and a verifier that counts its calls and can take "time".
    final class Harness: Sendable {
        let time = Mutex(ContinuousClock.now)
        let calls = Mutex(0)
        let verifyTakes = Mutex(Duration.zero)
        let hold = Mutex<Gate?>(nil)

        func makeGate(users: [String: String] = ["prometheus": "HASH"]) -> BasicAuthGate {
            BasicAuthGate(
                users: users,
                verify: { [self] password, hash in
                    self.calls.withLock { $0 += 1 }
                    let takes = self.verifyTakes.withLock { $0 }
                    self.time.withLock { $0 += takes }
                    return password == "right" && hash == "HASH"
                },
                now: { [self] in self.time.withLock { $0 } },
                offload: { [self] work in
                    await self.hold.withLock { $0 }?.wait()
                    return work()
                })
        }

        func advance(_ duration: Duration) { self.time.withLock { $0 += duration } }
    }

    static func basic(_ user: String, _ password: String) -> [String] {
        ["Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    @Test func missingMalformedAndWrongCredentialsAreRefused() async {
        let harness = Harness()
        let gate = harness.makeGate()
        #expect(await gate.check(authorization: []) == .unauthorized)
        #expect(await gate.check(authorization: ["Bearer abc"]) == .unauthorized)
        #expect(await gate.check(authorization: ["Basic !!!"]) == .unauthorized)
        #expect(await gate.check(authorization: ["Basic " + Data("nocolon".utf8).base64EncodedString()]) == .unauthorized)
        #expect(await gate.check(authorization: Self.basic("prometheus", "right") + Self.basic("prometheus", "right")) == .unauthorized)
        #expect(harness.calls.withLock { $0 } == 0)  // none of these reached bcrypt
        #expect(await gate.check(authorization: Self.basic("prometheus", "wrong")) == .unauthorized)
        #expect(await gate.check(authorization: Self.basic("prometheus", "right")) == .allowed)
    }

    @Test func verifiedCredentialsAreServedFromTheCache() async {
        let harness = Harness()
        let gate = harness.makeGate()
        #expect(await gate.check(authorization: Self.basic("prometheus", "right")) == .allowed)
        #expect(await gate.check(authorization: Self.basic("prometheus", "right")) == .allowed)
        #expect(await gate.check(authorization: ["basic " + Data("prometheus:right".utf8).base64EncodedString()]) == .allowed)
        #expect(harness.calls.withLock { $0 } == 1)
        // A wrong password is never cached: each one is verified (within the budget).
        #expect(await gate.check(authorization: Self.basic("prometheus", "wrong")) == .unauthorized)
        #expect(await gate.check(authorization: Self.basic("prometheus", "wrong")) == .unauthorized)
        #expect(harness.calls.withLock { $0 } == 3)
    }

    @Test func unknownUsersCostAVerificationButNeverPass() async {
        let harness = Harness()
        let gate = harness.makeGate()
        #expect(await gate.check(authorization: Self.basic("root", "right")) == .unauthorized)
        #expect(await gate.check(authorization: Self.basic("prometheus2", "right")) == .unauthorized)
        #expect(harness.calls.withLock { $0 } == 2)
    }

    @Test func oneVerificationAtATime() async throws {
        let harness = Harness()
        let hold = Gate()
        harness.hold.withLock { $0 = hold }
        let gate = harness.makeGate()
        async let first = gate.check(authorization: Self.basic("prometheus", "wrong"))
        await hold.entered()
        #expect(await gate.check(authorization: Self.basic("prometheus", "right")) == .busy)
        #expect(await gate.check(authorization: Self.basic("mallory", "x")) == .busy)
        hold.open()
        #expect(await first == .unauthorized)
        #expect(harness.calls.withLock { $0 } == 1)
    }

    @Test func bcryptGetsAQuarterOfACoreAtMost() async {
        let harness = Harness()
        harness.verifyTakes.withLock { $0 = .milliseconds(200) }
        let gate = harness.makeGate()
        #expect(await gate.check(authorization: Self.basic("prometheus", "wrong")) == .unauthorized)
        // 200 ms of bcrypt: the next verification waits 3 × 200 ms.
        harness.advance(.milliseconds(599))
        #expect(await gate.check(authorization: Self.basic("prometheus", "right")) == .busy)
        harness.advance(.milliseconds(1))
        #expect(await gate.check(authorization: Self.basic("prometheus", "right")) == .allowed)
        // Cached credentials pass while the budget is spent.
        #expect(await gate.check(authorization: Self.basic("mallory", "x")) == .busy)
        #expect(await gate.check(authorization: Self.basic("prometheus", "right")) == .allowed)
        #expect(harness.calls.withLock { $0 } == 2)
    }

    @Test func theCacheIsBounded() {
        var cache = VerifiedCache(capacity: 2)
        cache.insert([1, 1])
        cache.insert([2, 2])
        cache.insert([2, 2])
        #expect(cache.count == 2)
        cache.insert([3, 3])
        #expect(cache.count == 2)
        #expect(!cache.contains([1, 1]))
        #expect(cache.contains([3, 3]))
    }

    @Test func credentialsAndComparison() {
        let parsed = BasicAuthGate.credentials("Basic " + Data("user:pa:ss".utf8).base64EncodedString())
        #expect(parsed?.0 == "user")
        #expect(parsed?.1 == "pa:ss")
        #expect(BasicAuthGate.credentials("Basic") == nil)
        #expect(BasicAuthGate.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!BasicAuthGate.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!BasicAuthGate.constantTimeEqual(Array("abc".utf8), Array("abc\0".utf8)))
        #expect(!BasicAuthGate.constantTimeEqual([], Array("a".utf8)))
    }

    @Test func realBcryptHashesVerify() async {
        let hash = Bcrypt.hash("s3cret", cost: 4)
        let gate = BasicAuthGate(
            users: ["prometheus": hash], verify: { Bcrypt.verify($0, hash: $1) }, offload: { $0() },
            budget: VerificationBudget(idleFactor: 0))
        #expect(await gate.check(authorization: Self.basic("prometheus", "s3cret")) == .allowed)
        #expect(await gate.check(authorization: Self.basic("prometheus", "S3cret")) == .unauthorized)
        #expect(!Bcrypt.verify("anything", hash: BasicAuthGate.decoyHash))
    }
}
