import Batch

/// The dialect of a delimited text file: delimiter, quoting, header, encoding and line ending. Shared by the CSV
/// and TSV readers and writers; ``csv`` and ``tsv`` are the usual ones.
///
/// ```swift
/// var format = CSVFormat.csv
/// format.delimiter = ";"                      // a European spreadsheet export
/// format.encoding = .isoLatin1
/// CSVReader<Entry>(path: "entries.csv", format: format)
/// ```
public struct CSVFormat: Sendable, Hashable {
    /// How special characters inside a field are written.
    public struct Escaping: Sendable, Hashable, CustomStringConvertible {
        enum Base: String, Sendable, Hashable {
            case quotes, backslash
        }

        let base: Base

        /// RFC 4180: a field holding the delimiter, a quote or a line break is put in quotes, and a quote in it is
        /// doubled (`"say ""hi"""`). Quoted fields may span lines. The default, for CSV and TSV alike (as written by
        /// spreadsheets and Python's `csv`).
        public static let quotes = Escaping(base: .quotes)
        /// Backslash escapes, no quotes: tab, line feed, carriage return and backslash are written `\t`, `\n`, `\r`
        /// and `\\`, so every record is one line ("linear TSV", PostgreSQL's `COPY` text format).
        public static let backslash = Escaping(base: .backslash)

        /// The escaping's name.
        public var description: String { base.rawValue }
    }

    /// The line ending a writer puts after each record. Readers accept CRLF, LF and CR alike.
    public struct LineEnding: Sendable, Hashable {
        let bytes: [UInt8]
        /// `\n`, the default.
        public static let lf = LineEnding(bytes: [0x0A])
        /// `\r\n`, as RFC 4180 writes.
        public static let crlf = LineEnding(bytes: [0x0D, 0x0A])
    }

    /// The field separator: one ASCII character other than a quote, a backslash or a line break (`,`, `\t`, `;`,
    /// `|`).
    public var delimiter: Unicode.Scalar
    /// How fields holding special characters are written and read.
    public var escaping: Escaping
    /// Whether the first record names the columns (default true). Readers map fields to the properties of the
    /// item type by these names; writers write it from the item type's coding keys (or ``columns``).
    public var hasHeader: Bool
    /// The column names: for a reader, the names to map fields by when the file has no header (or to use instead
    /// of its header); for a writer, the columns and their order. When nil, a reader uses the header (or maps by
    /// position) and a writer takes the keys of the first item, in the order the item encodes them — so set it
    /// when an optional property of the first item may be nil (synthesized `Encodable` leaves nil properties out).
    public var columns: [String]?
    /// The character encoding (default UTF-8).
    public var encoding: TextEncoding
    /// The line ending writers use (default LF).
    public var lineEnding: LineEnding

    /// Creates a format.
    /// - Parameters:
    ///   - delimiter: the field separator.
    ///   - escaping: quotes (RFC 4180) or backslash escapes.
    ///   - hasHeader: whether the first record names the columns.
    ///   - columns: column names to use instead of, or without, a header.
    ///   - encoding: the character encoding.
    ///   - lineEnding: the line ending writers use.
    public init(
        delimiter: Unicode.Scalar = ",", escaping: Escaping = .quotes, hasHeader: Bool = true,
        columns: [String]? = nil, encoding: TextEncoding = .utf8, lineEnding: LineEnding = .lf
    ) {
        self.delimiter = delimiter
        self.escaping = escaping
        self.hasHeader = hasHeader
        self.columns = columns
        self.encoding = encoding
        self.lineEnding = lineEnding
    }

    /// Comma-separated values, RFC 4180, with a header.
    public static let csv = CSVFormat()
    /// Tab-separated values with a header, quoted like CSV where a field holds a tab, a quote or a line break.
    public static let tsv = CSVFormat(delimiter: "\t")
    /// Tab-separated values with a header and backslash escapes instead of quotes (one record per line).
    public static let linearTSV = CSVFormat(delimiter: "\t", escaping: .backslash)

    /// The delimiter as a byte, after checking it.
    func delimiterByte() throws -> UInt8 {
        let value = delimiter.value
        guard value < 0x80, value != 0x22, value != 0x5C, value != 0x0A, value != 0x0D else {
            throw FileErrors.definition(
                "CSV delimiter \(delimiter.escaped(asASCII: true)) is not allowed: use one ASCII character other "
                    + "than a quote, a backslash or a line break")
        }
        return UInt8(value)
    }
}
