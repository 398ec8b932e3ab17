import Netlink
import Testing

@testable import PathwatchCore

@Suite("Pod directory")
struct PodDirectoryTests {
    static let list = #"""
        {"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1200"},"items":[
         {"metadata":{"name":"client-7d9","namespace":"shop","uid":"a"},"spec":{"nodeName":"n1"},
          "status":{"phase":"Running","podIP":"10.0.1.20","podIPs":[{"ip":"10.0.1.20"},{"ip":"fd00::20"}]}},
         {"metadata":{"name":"server-0","namespace":"shop","uid":"b"},"spec":{"nodeName":"n1"},
          "status":{"phase":"Running","podIP":"10.0.1.21"}},
         {"metadata":{"name":"kube-proxy-x","namespace":"kube-system","uid":"c"},"spec":{"hostNetwork":true},
          "status":{"phase":"Running","podIP":"10.0.1.10","podIPs":[{"ip":"10.0.1.10"}]}},
         {"metadata":{"name":"job-1","namespace":"batch","uid":"d"},"spec":{},
          "status":{"phase":"Succeeded","podIP":"10.0.1.22"}},
         {"metadata":{"name":"pending","namespace":"shop","uid":"e"},"spec":{},"status":{"phase":"Pending"}}
        ]}
        """#

    func directory() throws -> PodDirectory {
        var directory = PodDirectory()
        let (pods, version) = try PodWire.list(Array(Self.list.utf8))
        #expect(version == "1200")
        directory.replaceAll(with: pods)
        return directory
    }

    @Test func namesPodsByEveryAddressLeavingOutHostNetworkAndFinishedPods() throws {
        let d = try directory()
        #expect(d.pod(at: IPAddress("10.0.1.20")!)?.description == "shop/client-7d9")
        #expect(d.pod(at: IPAddress("fd00::20")!)?.description == "shop/client-7d9")
        #expect(d.pod(at: IPAddress("10.0.1.21")!)?.description == "shop/server-0")
        #expect(d.pod(at: IPAddress("10.0.1.10")!) == nil)
        #expect(d.pod(at: IPAddress("10.0.1.22")!) == nil)
        #expect(d.count == 2)
    }

    @Test func watchLinesAddMoveAndDeletePods() throws {
        var d = try directory()
        let moved =
            #"{"type":"MODIFIED","object":{"metadata":{"name":"server-0","namespace":"shop","uid":"b","resourceVersion":"1201"},"status":{"phase":"Running","podIP":"10.0.1.30"}}}"#
        guard case .change(let change, let version) = try PodWire.watchLine(Array(moved.utf8)) else {
            Issue.record("not a change")
            return
        }
        #expect(version == "1201")
        d.apply(change)
        #expect(d.pod(at: IPAddress("10.0.1.21")!) == nil)
        #expect(d.pod(at: IPAddress("10.0.1.30")!)?.name == "server-0")
        let deleted =
            #"{"type":"DELETED","object":{"metadata":{"name":"server-0","namespace":"shop","uid":"b","resourceVersion":"1202"},"status":{"podIP":"10.0.1.30"}}}"#
        guard case .change(let gone, _) = try PodWire.watchLine(Array(deleted.utf8)) else {
            Issue.record("not a change")
            return
        }
        d.apply(gone)
        #expect(d.pod(at: IPAddress("10.0.1.30")!) == nil)
    }

    @Test func anAddressReusedByANewPodIsNotRemovedWithTheOldOne() throws {
        var d = PodDirectory()
        let a = Pod(uid: "1", namespace: "ns", name: "old", addresses: [IPAddress("10.0.1.5")!])
        let b = Pod(uid: "2", namespace: "ns", name: "new", addresses: [IPAddress("10.0.1.5")!])
        d.apply(.upsert(a))
        d.apply(.upsert(b))
        d.apply(.delete(a))
        #expect(d.pod(at: IPAddress("10.0.1.5")!)?.name == "new")
    }

    @Test func bookmarksErrorsAndGarbageAreTold() throws {
        #expect(
            try PodWire.watchLine(Array(#"{"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"99"}}}"#.utf8))
                == .bookmark(resourceVersion: "99"))
        #expect(
            try PodWire.watchLine(
                Array(#"{"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old resource version"}}"#.utf8))
                == .error(code: 410, message: "too old resource version"))
        #expect(throws: KubernetesWireError.self) { try PodWire.watchLine(Array("<html>502 Bad Gateway</html>".utf8)) }
        #expect(throws: KubernetesWireError.self) { try PodWire.watchLine(Array(#"{"type":"ADDED","object":{"metadata":"#.utf8)) }
        #expect(throws: KubernetesWireError.self) { try PodWire.list(Array(#"{"items":3}"#.utf8)) }
        do {
            _ = try PodWire.watchLine(Array(#"{"type":"ADDED","object":{"spec":{}}}"#.utf8))
            Issue.record("accepted a pod without metadata")
        } catch {
            #expect(error.description.contains("missing 'object.metadata'"))
        }
    }
}

@Suite("Pod name resolver")
struct PodNameResolverTests {
    struct Fixed: PodNameResolver {
        var directory: PodDirectory
        func pod(at address: IPAddress) -> PodReference? { directory.pod(at: address) }
    }

    @Test func evidenceListsNameEachPodOnceAndStayBounded() {
        var directory = PodDirectory()
        directory.apply(.upsert(Pod(uid: "a", namespace: "shop", name: "client", addresses: [IPAddress("10.0.1.20")!])))
        directory.apply(.upsert(Pod(uid: "b", namespace: "shop", name: "server", addresses: [IPAddress("10.0.1.21")!])))
        directory.apply(.upsert(Pod(uid: "c", namespace: "shop", name: "third", addresses: [IPAddress("10.0.1.22")!])))
        let resolver = Fixed(directory: directory)
        let addresses = ["10.0.1.20", "10.0.1.99", "10.0.1.20", "10.0.1.21", "10.0.1.22"].map { IPAddress($0)! }
        #expect(resolver.podNames(addresses, limit: 5) == ["shop/client", "shop/server", "shop/third"])
        #expect(resolver.podNames(addresses, limit: 2) == ["shop/client", "shop/server"])
        #expect(resolver.podNames([IPAddress("10.0.1.99")!], limit: 5).isEmpty)
    }
}
