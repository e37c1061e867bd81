/// Why a CSV or TSV record that parsed was refused: it has another number of fields than the header (or
/// ``CSVFormat/columns``). It is the underlying error of the ``Batch/RawRecordError`` of such a refusal; the whole
/// record is refused, and reading resumes after it.
public struct CSVFieldCountError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The fields the record has.
    public var fields: Int
    /// The fields each record must have.
    public var columns: Int

    /// Creates an error.
    public init(fields: Int, columns: Int) {
        self.fields = fields
        self.columns = columns
    }

    /// What is wrong, in the reader's words.
    public var description: String {
        "the record has \(fields) fields, the header \(columns) (a field with a delimiter or a line break in it must "
            + "be quoted)"
    }
}
