/// The result of a statement: its columns, its rows (text values copied out of libpq) and the number of rows a
/// command affected.
public struct PostgresRows: Sendable, RandomAccessCollection {
    /// The result's columns, in order.
    public let columns: [PostgresColumn]
    /// How many rows an `INSERT`, `UPDATE`, `DELETE`, ... touched (`PQcmdTuples`); the row count for a `SELECT`.
    public let affectedRows: Int
    /// The command tag (`"INSERT 0 1"`, `"SELECT 3"`, ...).
    public let commandTag: String
    let cells: [[String?]]
    /// Column positions by name, for results of several rows (each row's lookups use it) or too wide to search in
    /// order; nil for a single row of a few columns, the repository's usual result, where building a dictionary
    /// costs more than the lookups it would save.
    let columnIndex: [String: Int]?

    /// A single row with at most this many columns finds a column by comparing names in order (a chosen bound, not
    /// a measured one).
    static let orderedSearchLimit = 24

    init(columns: [PostgresColumn], cells: [[String?]], affectedRows: Int, commandTag: String) {
        self.columns = columns
        self.cells = cells
        self.affectedRows = affectedRows
        self.commandTag = commandTag
        if cells.count > 1 || columns.count > Self.orderedSearchLimit {
            var index: [String: Int] = [:]
            for (position, column) in columns.enumerated() where index[column.name] == nil {
                index[column.name] = position
            }
            self.columnIndex = index
        } else {
            self.columnIndex = nil
        }
    }

    /// The position of the first column named `name`.
    func position(of name: String) -> Int? {
        if let columnIndex { return columnIndex[name] }
        return columns.firstIndex { $0.name == name }
    }

    /// The first row's index (0).
    public var startIndex: Int { 0 }
    /// One past the last row's index.
    public var endIndex: Int { cells.count }

    /// The row at `position`.
    public subscript(position: Int) -> PostgresRow { PostgresRow(rows: self, index: position) }

    /// The only row of a result expected to have exactly one.
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/unexpectedResult`` otherwise.
    public func single() throws -> PostgresRow {
        guard count == 1 else {
            throw PostgresError(.unexpectedResult, "expected exactly one row, got \(count) (\(commandTag))")
        }
        return self[0]
    }
}

/// A result column: its name and type.
public struct PostgresColumn: Sendable, Hashable {
    /// The column's name (`PQfname`).
    public let name: String
    /// The type's OID (`PQftype`).
    public let typeOID: UInt32
}

/// One row of a ``PostgresRows``.
public struct PostgresRow: Sendable {
    let rows: PostgresRows
    let index: Int

    /// The raw text of a column, or nil for `NULL`.
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/decoding`` when there is no such column.
    public func text(_ column: String) throws -> String? {
        rows.cells[index][try position(of: column)]
    }

    /// Decodes a column.
    ///
    /// ```swift
    /// let id = try row.decode("id", as: Int64.self)
    /// let ended = try row.decode("end_time", as: Date?.self)
    /// ```
    /// - Parameters:
    ///   - column: the column's name.
    ///   - type: the Swift type; an optional type turns `NULL` into nil.
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/decoding`` when the column is missing, `NULL` for
    ///   a non-optional type, or not convertible.
    public func decode<Value: PostgresDecodable>(_ column: String, as type: Value.Type = Value.self) throws -> Value {
        let position = try position(of: column)
        return try decode(at: position, as: type)
    }

    /// Decodes the column at `position` (0-based).
    ///
    /// - Throws: ``PostgresError`` with code ``PostgresError/Code/decoding``, as ``decode(_:as:)``.
    public func decode<Value: PostgresDecodable>(at position: Int, as type: Value.Type = Value.self) throws -> Value {
        guard rows.columns.indices.contains(position) else {
            throw PostgresError(.decoding, "no column at position \(position) (the result has \(rows.columns.count))")
        }
        let column = rows.columns[position]
        do {
            return try Value(postgresText: rows.cells[index][position], typeOID: column.typeOID)
        } catch var error as PostgresError {
            error.message = "column \(column.name): " + error.message
            throw error
        }
    }

    private func position(of column: String) throws -> Int {
        guard let position = rows.position(of: column) else {
            throw PostgresError(
                .decoding,
                "no column '\(column)' in the result (columns: \(rows.columns.map(\.name).joined(separator: ", ")))")
        }
        return position
    }
}
