/// How a writer gets an item's column values: from a closure, in the order of the columns given, or from the
/// item's `Encodable` conformance, by column name. Shared by ``PostgresItemWriter`` and ``PostgresCopyItemWriter``.
struct PostgresRowMapping<Item>: Sendable {
    /// `PostgresItemWriter for ledger`: the start of every message.
    let context: String
    /// The columns, in statement order; nil until the first item names them (all of an `Encodable` item's keys).
    private(set) var columns: [String]?
    // Two optionals, exactly one set, rather than an enum with payloads: switching over an enum generic over `Item`
    // looks up its metadata on every item.
    /// The closure giving the values in column order.
    private let positional: (@Sendable (Item) throws -> [PostgresValue?])?
    /// The encoder reading the values by coding key (the item is `Encodable`, checked when the mapping is made).
    private let named: PostgresRowEncoder?

    /// Values from a closure, one per column of `columns`.
    init(
        writer: String, table: String, columns: [String], values: @escaping @Sendable (Item) throws -> [PostgresValue?]
    )
        throws
    {
        self.context = "\(writer) for \(table)"
        self.positional = values
        self.named = nil
        self.columns = try Self.checked(columns, context: context)
    }

    /// Values from the item's coding keys: those of `columns`, or every key when `columns` is nil.
    init(writer: String, table: String, columns: [String]?, naming: PostgresColumnNaming) throws
    where Item: Encodable {
        self.context = "\(writer) for \(table)"
        self.positional = nil
        self.named = PostgresRowEncoder(naming: naming)
        self.columns = try columns.map { try Self.checked($0, context: context) }
    }

    /// The columns, settled from `first` when the item's keys name them.
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/invalidConfiguration`` for a key that is not a
    ///   plain column name, ``PostgresError/Code/invalidParameter`` when the item cannot be encoded.
    mutating func settleColumns(from first: Item) throws -> [String] {
        if let columns { return columns }
        guard let encoder = named else { return [] }
        let named = try prefixed { try encoder.row(ofAny: first) }.map(\.column)
        let settled = try Self.checked(named, context: context)
        columns = settled
        return settled
    }

    /// A function giving the values of item number `index` of the chunk, in column order. Taken once for a chunk's
    /// loop: each call of a method of this type, generic over `Item`, looks up the type's metadata; a call of the
    /// closure does not.
    ///
    /// The function throws ``PostgresError`` with code ``PostgresError/Code/invalidParameter`` when the item gives
    /// the wrong number of values or lacks one of the columns (keys that are not columns are left out).
    func valuesFunction() -> (_ item: Item, _ index: Int) throws -> [PostgresValue?] {
        guard let positional else { return { item, index in try namedValues(of: item, index: index) } }
        let count = columns?.count ?? 0
        let context = self.context
        return { item, index in
            let row = try positional(item)
            guard row.count == count else {
                throw PostgresError(
                    .invalidParameter, "\(context): item \(index) has \(row.count) values for \(count) columns")
            }
            return row
        }
    }

    /// The values of an `Encodable` item, by coding key, in column order.
    private func namedValues(of item: Item, index: Int) throws -> [PostgresValue?] {
        guard let encoder = named else { return [] }
        let columns = columns ?? []
        let row = try prefixed { try encoder.row(ofAny: item) }
        var byName: [String: PostgresValue?] = [:]
        for (column, value) in row { byName[column] = value }
        return try columns.map { column in
            guard let value = byName[column] else {
                throw PostgresError(
                    .invalidParameter,
                    "\(context): item \(index) (\(Item.self)) has no coding key for the column '\(column)'; "
                        + "known keys: \(row.map(\.column).joined(separator: ", "))")
            }
            return value
        }
    }

    /// Prefixes the writer and table to an error's message.
    @discardableResult
    func prefixed<Result>(_ body: () throws -> Result) throws -> Result {
        do { return try body() } catch var error as PostgresError {
            if !error.message.hasPrefix(context) { error.message = "\(context): " + error.message }
            throw error
        }
    }

    /// Prefixes the writer and table to an error's message.
    @discardableResult
    func prefixed<Result>(_ body: () async throws -> Result) async throws -> Result {
        do { return try await body() } catch var error as PostgresError {
            if !error.message.hasPrefix(context) { error.message = "\(context): " + error.message }
            throw error
        }
    }

    private static func checked(_ columns: [String], context: String) throws -> [String] {
        for column in columns { _ = try PostgresIdentifier.quoted(column, what: "column") }
        guard !columns.isEmpty, Set(columns).count == columns.count else {
            throw PostgresError(.invalidConfiguration, "\(context) needs distinct columns")
        }
        return columns
    }
}
