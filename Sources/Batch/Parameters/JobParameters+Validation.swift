extension JobParameters {
    /// Creates parameters from a dictionary, refusing what cannot be stored (see ``validate()``).
    ///
    /// - Throws: ``BatchError/Code/invalidParameters`` naming the parameter at fault.
    public init(validating values: [String: JSONValue]) throws {
        self.init(values)
        try validate()
    }

    /// Checks that the parameters can be stored and read back unchanged.
    ///
    /// Refuses, with ``BatchError/Code/invalidParameters`` and a message naming the parameter's path
    /// (`parameter 'who' contains a NUL character (U+0000), which cannot be stored`):
    /// - a NUL character (U+0000) in a key or a string at any depth: PostgreSQL refuses it in `text` and `jsonb`;
    /// - a number that is not finite (infinity or NaN): JSON has none;
    /// - nesting deeper than ``JSONValue/maximumNestingDepth`` levels (the parameters object is the first level),
    ///   which could not be parsed back.
    ///
    /// ``init(json:)``, ``init(jsonValue:)`` and decoding call it; ``init(_:)`` does not, so call it (or use
    /// ``init(validating:)``) on parameters built in code from outside input. The check walks the values without
    /// recursion.
    public func validate() throws {
        // Depth-first, with an explicit stack; `parents` keeps the path of each container for messages.
        var parents: [(parent: Int, component: JSONPathComponent)] = []
        var stack: [(value: JSONValue, node: Int, depth: Int)] = []
        func path(_ node: Int, _ last: JSONPathComponent? = nil) -> String {
            var components: [JSONPathComponent] = last.map { [$0] } ?? []
            var current = node
            while current >= 0 {
                components.append(parents[current].component)
                current = parents[current].parent
            }
            return JSONPath.describe(components.reversed())
        }
        func refuse(_ message: String) -> BatchError { BatchError(.invalidParameters, message) }
        let nul = "contains a NUL character (U+0000), which cannot be stored"

        func visitMembers(_ members: [String: JSONValue], node: Int, depth: Int) throws {
            for (key, value) in members {
                if key.utf8.contains(0) { throw refuse("the name of parameter '\(path(node, .key(key)))' \(nul)") }
                stack.append((value, Self.child(&parents, node, .key(key)), depth))
            }
        }
        func checkNesting(_ depth: Int, _ node: Int) throws {
            guard depth < JSONValue.maximumNestingDepth else {
                throw refuse("parameters nest deeper than \(JSONValue.maximumNestingDepth) levels at '\(path(node))'")
            }
        }
        try visitMembers(values, node: -1, depth: 1)
        while let (value, node, depth) = stack.popLast() {
            switch value {
            case .string(let string):
                if string.utf8.contains(0) { throw refuse("parameter '\(path(node))' \(nul)") }
            case .double(let number):
                if !number.isFinite {
                    throw refuse("parameter '\(path(node))' is \(number), which JSON cannot hold (no infinity or NaN)")
                }
            case .array(let elements):
                try checkNesting(depth, node)
                for (index, element) in elements.enumerated() {
                    stack.append((element, Self.child(&parents, node, .index(index)), depth + 1))
                }
            case .object(let members):
                try checkNesting(depth, node)
                try visitMembers(members, node: node, depth: depth + 1)
            case .null, .bool, .int:
                break
            }
        }
    }

    private static func child(
        _ parents: inout [(parent: Int, component: JSONPathComponent)], _ parent: Int, _ component: JSONPathComponent
    ) -> Int {
        parents.append((parent, component))
        return parents.count - 1
    }
}
