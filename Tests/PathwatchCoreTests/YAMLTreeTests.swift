import Testing

@testable import PathwatchCore

/// The YAML reader under the configuration parsers (LibYAML's events composed into a tree):
/// what it keeps, and the inputs it refuses with a position instead of trapping or growing.
@Suite("YAML tree")
struct YAMLTreeTests {
    @Test func scalarsStayAsWrittenAndCollectionsKeepOrder() throws {
        let root = try #require(try YAMLTree.compose("b: yes\na: [\"1\", 0x10, ~]\nc:\n"))
        let mapping = try #require(root.mapping)
        #expect(mapping.pairs.map { $0.key.string } == ["b", "a", "c"])
        #expect(mapping["b"]?.string == "yes")
        guard case .sequence(let list)? = mapping["a"] else {
            Issue.record("a is not a sequence")
            return
        }
        #expect(list.items.map(\.string) == ["1", "0x10", "~"])
        #expect(mapping["c"]?.string == "")
        #expect(mapping["missing"] == nil)
    }

    @Test func marksAreOneBasedLinesAndColumns() throws {
        let root = try #require(try YAMLTree.compose("top:\n  inner: value\n"))
        let inner = try #require(root.mapping?["top"]?.mapping?["inner"])
        #expect(inner.mark == YAMLNode.Mark(line: 2, column: 10))
    }

    @Test func anEmptyStreamIsNoDocument() throws {
        #expect(try YAMLTree.compose("") == nil)
        #expect(try YAMLTree.compose("# only a comment\n") == nil)
    }

    @Test func aSyntaxErrorNamesItsPosition() {
        #expect(throws: YAMLSyntaxError.self) { try YAMLTree.compose("a: [1, 2\nb: c\n") }
        do {
            _ = try YAMLTree.compose("a: b\n  c: d\n")
            Issue.record("accepted a bad indentation")
        } catch {
            #expect(error.mark?.line == 2)
            #expect(error.problem.contains("mapping values are not allowed"))
        }
    }

    @Test func aDuplicateKeyIsRefusedWhereItRepeats() {
        #expect(throws: YAMLSyntaxError(mark: .init(line: 3, column: 1), problem: "key 'a' appears twice in one mapping")) {
            try YAMLTree.compose("a: 1\nb: 2\na: 3\n")
        }
    }

    @Test func aSecondDocumentIsRefused() {
        #expect(throws: YAMLSyntaxError.self) { try YAMLTree.compose("a: 1\n---\nb: 2\n") }
    }

    @Test func aliasesAreExpanded() throws {
        let root = try #require(try YAMLTree.compose("base: &b [10.0.0.0/8]\ncopy: *b\n"))
        guard case .sequence(let copy)? = root.mapping?["copy"] else {
            Issue.record("the alias did not expand to the sequence")
            return
        }
        #expect(copy.items.map(\.string) == ["10.0.0.0/8"])
        #expect(throws: YAMLSyntaxError.self) { try YAMLTree.compose("a: *nowhere\n") }
    }

    /// Nine levels of ten aliases each would be 10⁹ nodes.
    @Test func anAliasBombIsRefused() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            let previous = "*a\(level - 1)"
            text += "a\(level): &a\(level) [" + Array(repeating: previous, count: 10).joined(separator: ", ") + "]\n"
        }
        // `_ =`: were it accepted, describing the tree in the failure would take forever.
        #expect(throws: YAMLSyntaxError.self) { _ = try YAMLTree.compose(text) }
    }

    @Test func deepNestingIsRefusedNotRecursedInto() {
        // Past the flow-opener bound: refused before LibYAML's quadratic scan; within it: by depth.
        for count in [100_000, YAMLTree.maxFlowOpeners, YAMLTree.maxDepth + 1] {
            let deep = String(repeating: "[", count: count) + String(repeating: "]", count: count)
            #expect(throws: YAMLSyntaxError.self) { _ = try YAMLTree.compose(deep) }
        }
        let block = (0...YAMLTree.maxDepth).map { String(repeating: " ", count: $0) + "k\($0):\n" }.joined()
        #expect(throws: YAMLSyntaxError.self) { try YAMLTree.compose(block) }
        let fine = String(repeating: "[", count: YAMLTree.maxDepth) + String(repeating: "]", count: YAMLTree.maxDepth)
        #expect(throws: Never.self) { _ = try YAMLTree.compose(fine) }
    }

    @Test func controlCharactersAreErrorsNotTraps() {
        #expect(throws: YAMLSyntaxError.self) { try YAMLTree.compose("a: \u{7}\n") }
        #expect(throws: YAMLSyntaxError.self) { try YAMLTree.compose("a: b\u{0}c\n") }
    }
}
