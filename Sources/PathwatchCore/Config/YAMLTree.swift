import CYAML

/// One YAML node with where it starts, for errors that name a line and a column.
///
/// The configuration readers need only this: scalars as written (they do their own typing, so
/// `yes` is never silently a boolean), mappings in file order and sequences. It is composed from
/// LibYAML's event parser rather than with Yams because Yams imports Foundation and ICU, which
/// cost the idle agent ~6 MiB of resident memory (docs/benchmarks.md, "Memory at rest").
enum YAMLNode: Sendable {
    case scalar(Scalar)
    case mapping(Mapping)
    case sequence(Sequence)

    /// 1-based, as editors count.
    struct Mark: Sendable, Equatable {
        var line: Int
        var column: Int
    }

    struct Scalar: Sendable {
        var string: String
        var mark: Mark
    }

    struct Mapping: Swift.Sequence, Sendable {
        var pairs: [(key: YAMLNode, value: YAMLNode)]
        var mark: Mark

        func makeIterator() -> IndexingIterator<[(key: YAMLNode, value: YAMLNode)]> { pairs.makeIterator() }

        /// The value of the scalar key `key`; keys are unique (the composer refuses duplicates).
        subscript(key: String) -> YAMLNode? { pairs.first { $0.key.string == key }?.value }
    }

    struct Sequence: Swift.Sequence, Sendable {
        var items: [YAMLNode]
        var mark: Mark

        func makeIterator() -> IndexingIterator<[YAMLNode]> { items.makeIterator() }
    }

    var mark: Mark? {
        switch self {
        case .scalar(let scalar): scalar.mark
        case .mapping(let mapping): mapping.mark
        case .sequence(let sequence): sequence.mark
        }
    }

    var scalar: Scalar? { if case .scalar(let scalar) = self { scalar } else { nil } }
    var mapping: Mapping? { if case .mapping(let mapping) = self { mapping } else { nil } }
    var string: String? { scalar?.string }
}

/// Why a text is not a YAML document pathwatch reads, and where.
struct YAMLSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    var mark: YAMLNode.Mark?
    var problem: String

    var description: String {
        guard let mark else { return problem }
        return "\(problem) (line \(mark.line), column \(mark.column))"
    }
}

enum YAMLTree {
    /// Deeper nesting is refused: no configuration needs it, and freeing a deep tree recurses.
    static let maxDepth = 64
    /// Nodes after alias expansion: bounds an alias bomb ("billion laughs") to a refusal.
    static let maxNodes = 100_000
    /// `[` and `{` bytes, counted before parsing: LibYAML's scanner keeps one possible simple key
    /// per open flow collection and walks them all at every token, so deep flow nesting costs it
    /// quadratic time (100,000 `[` take minutes) before the first event could be refused.
    static let maxFlowOpeners = 10_000

    /// The single document in `text`, or `nil` for an empty stream. Aliases are expanded;
    /// duplicate keys, a second document, too deep a tree or too many nodes are errors.
    static func compose(_ text: String) throws(YAMLSyntaxError) -> YAMLNode? {
        let flowOpeners = text.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: "[") || $1 == UInt8(ascii: "{") ? 1 : 0) }
        guard flowOpeners <= maxFlowOpeners else {
            throw YAMLSyntaxError(problem: "more than \(maxFlowOpeners) '[' or '{' characters: refused unparsed")
        }
        var composer = Composer()
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw YAMLSyntaxError(problem: "cannot start the YAML parser: out of memory") }
        defer { yaml_parser_delete(&parser) }
        var bytes = Array(text.utf8)
        return try bytes.withUnsafeMutableBufferPointer { (buffer) throws(YAMLSyntaxError) -> YAMLNode? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { throw Self.parserError(parser) }
                defer { yaml_event_delete(&event) }
                if try composer.consume(event) { return composer.root }
            }
        }
    }

    private static func parserError(_ parser: yaml_parser_t) -> YAMLSyntaxError {
        var problem = parser.problem.map { String(cString: $0) } ?? "not valid YAML"
        if let context = parser.context.map({ String(cString: $0) }) { problem = "\(context): \(problem)" }
        return YAMLSyntaxError(mark: Mark(parser.problem_mark), problem: problem)
    }

    typealias Mark = YAMLNode.Mark
}

extension YAMLNode.Mark {
    init(_ mark: yaml_mark_t) { self.init(line: Int(mark.line) + 1, column: Int(mark.column) + 1) }
}

/// Builds the tree from parser events with an explicit stack (no recursion on input depth).
private struct Composer {
    /// A collection whose end has not come yet.
    private struct Open {
        enum Items {
            case mapping(pairs: [(key: YAMLNode, value: YAMLNode)], keys: Set<String>, pendingKey: YAMLNode?)
            case sequence([YAMLNode])
        }
        var items: Items
        var mark: YAMLNode.Mark
        var anchor: String?
        /// Nodes in this subtree so far, itself included: what an alias to it will cost.
        var size = 1
    }

    private var stack: [Open] = []
    private var anchors: [String: (node: YAMLNode, size: Int)] = [:]
    private var nodes = 0
    private var documents = 0
    private(set) var root: YAMLNode?

    /// Takes one event; true at the end of the stream.
    mutating func consume(_ event: yaml_event_t) throws(YAMLSyntaxError) -> Bool {
        let mark = YAMLNode.Mark(event.start_mark)
        switch event.type {
        case YAML_STREAM_END_EVENT:
            return true
        case YAML_DOCUMENT_START_EVENT:
            documents += 1
            guard documents == 1 else { throw YAMLSyntaxError(mark: mark, problem: "expected a single YAML document, found a second one") }
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            let value = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
            try count(1, at: mark)
            try add(.scalar(.init(string: value, mark: mark)), size: 1, anchor: Self.string(scalar.anchor))
        case YAML_ALIAS_EVENT:
            let name = Self.string(event.data.alias.anchor) ?? ""
            guard let target = anchors[name] else { throw YAMLSyntaxError(mark: mark, problem: "unknown alias *\(name)") }
            try count(target.size, at: mark)
            try add(target.node, size: target.size, anchor: nil)
        case YAML_MAPPING_START_EVENT:
            let items = Open.Items.mapping(pairs: [], keys: [], pendingKey: nil)
            try open(Open(items: items, mark: mark, anchor: Self.string(event.data.mapping_start.anchor)))
        case YAML_SEQUENCE_START_EVENT:
            try open(Open(items: .sequence([]), mark: mark, anchor: Self.string(event.data.sequence_start.anchor)))
        case YAML_MAPPING_END_EVENT, YAML_SEQUENCE_END_EVENT:
            try close(at: mark)
        default:
            break  // stream and document boundaries carry nothing the readers use
        }
        return false
    }

    /// Every node, aliases counted at the size of what they stand for: an alias bomb is refused
    /// while its tree is still small.
    private mutating func count(_ size: Int, at mark: YAMLNode.Mark) throws(YAMLSyntaxError) {
        nodes += size
        guard nodes <= YAMLTree.maxNodes else {
            throw YAMLSyntaxError(mark: mark, problem: "more than \(YAMLTree.maxNodes) nodes (counting expanded aliases)")
        }
    }

    private mutating func open(_ collection: Open) throws(YAMLSyntaxError) {
        guard stack.count < YAMLTree.maxDepth else {
            throw YAMLSyntaxError(mark: collection.mark, problem: "nested deeper than \(YAMLTree.maxDepth) levels")
        }
        try count(1, at: collection.mark)
        stack.append(collection)
    }

    private mutating func close(at mark: YAMLNode.Mark) throws(YAMLSyntaxError) {
        // LibYAML balances start and end events; an unbalanced end is refused, never trusted.
        guard let collection = stack.popLast() else { throw YAMLSyntaxError(mark: mark, problem: "unbalanced collection end") }
        switch collection.items {
        case .mapping(let pairs, _, nil):
            try add(.mapping(.init(pairs: pairs, mark: collection.mark)), size: collection.size, anchor: collection.anchor)
        case .sequence(let items):
            try add(.sequence(.init(items: items, mark: collection.mark)), size: collection.size, anchor: collection.anchor)
        case .mapping(_, _, .some):
            throw YAMLSyntaxError(mark: mark, problem: "a mapping ends with a key that has no value")
        }
    }

    /// Places a finished node in its parent.
    private mutating func add(_ node: YAMLNode, size: Int, anchor: String?) throws(YAMLSyntaxError) {
        if let anchor { anchors[anchor] = (node, size) }
        guard var parent = stack.popLast() else {
            root = node
            return
        }
        parent.size += size
        switch parent.items {
        case .sequence(var items):
            items.append(node)
            parent.items = .sequence(items)
        case .mapping(var pairs, let keys, let key?):
            pairs.append((key, node))
            parent.items = .mapping(pairs: pairs, keys: keys, pendingKey: nil)
        case .mapping(let pairs, var keys, nil):
            if let name = node.string, !keys.insert(name).inserted {
                throw YAMLSyntaxError(mark: node.mark, problem: "key '\(name)' appears twice in one mapping")
            }
            parent.items = .mapping(pairs: pairs, keys: keys, pendingKey: node)
        }
        stack.append(parent)
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
