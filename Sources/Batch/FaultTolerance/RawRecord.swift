import Foundation

/// The bytes a reader skipped because they did not make a record: kept in the ``SkippedItem`` of a read skip so an
/// operator can see, mend and replay exactly what was left out.
///
/// ``offset`` and ``length`` cover every byte the reader moved past (with the record's line break), so the file
/// is the good records, the blank lines and the raw records of its skips, in order: nothing is dropped unseen. The
/// bytes are kept as ``text`` when they are valid UTF-8 (or plain ASCII in a Latin-1 file), else as ``base64``.
public struct RawRecord: Sendable, Hashable, Codable {
    /// The file the record is in.
    public var file: String
    /// The line the record starts on, from 1.
    public var line: Int
    /// The byte offset of the record's first byte (in the uncompressed bytes of a `.gz` file).
    public var offset: Int64
    /// How many bytes the reader moved past, from ``offset``.
    public var length: Int64
    /// The bytes as text, when they are valid text; nil when they are in ``base64``.
    public var text: String?
    /// The bytes in base64, when they are not valid text.
    public var base64: String?
    /// Whether only the first bytes are kept (the record was longer than the reader's record limit); the rest is
    /// in the file, from ``offset`` for ``length`` bytes.
    public var truncated: Bool

    /// Creates a record from the bytes a reader skipped.
    /// - Parameters:
    ///   - file: the file.
    ///   - line: the line the record starts on.
    ///   - offset: the offset of its first byte.
    ///   - length: how many bytes were skipped.
    ///   - bytes: the bytes kept (all of them, or the first when `length` is larger).
    ///   - isUTF8: whether the file is UTF-8 (else only ASCII bytes are kept as text).
    public init(file: String, line: Int, offset: Int64, length: Int64, bytes: [UInt8], isUTF8: Bool = true) {
        self.file = file
        self.line = line
        self.offset = offset
        self.length = length
        self.truncated = Int64(bytes.count) < length
        let ascii = bytes.allSatisfy { $0 < 0x80 }
        if ascii || isUTF8, let text = String(validating: bytes, as: UTF8.self) {
            self.text = text
            self.base64 = nil
        } else {
            self.text = nil
            self.base64 = Data(bytes).base64EncodedString()
        }
    }

    /// The bytes kept, from ``text`` or ``base64``.
    public var bytes: [UInt8] {
        if let text { return Array(text.utf8) }
        return base64.flatMap { Data(base64Encoded: $0) }.map { Array($0) } ?? []
    }

    /// The record as JSON, as a read skip stores it in ``SkippedItem/item``.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "file": .string(file), "line": .int(Int64(line)), "offset": .int(offset), "length": .int(length),
        ]
        if let text { object["text"] = .string(text) }
        if let base64 { object["base64"] = .string(base64) }
        object["truncated"] = .bool(truncated)
        return .object(object)
    }
}

/// The error a reader puts under a ``BatchError/Code/malformedRecord`` error: the raw record it skipped and the
/// error that made it refuse the record, if any.
public struct RawRecordError: Error, Sendable, CustomStringConvertible {
    /// The bytes the reader moved past.
    public var record: RawRecord
    /// Why the record was refused (a `DecodingError`, say), if there is such an error.
    public var underlying: (any Error)?

    /// Creates an error.
    /// - Parameters:
    ///   - record: the bytes the reader moved past.
    ///   - underlying: why the record was refused.
    public init(record: RawRecord, underlying: (any Error)? = nil) {
        self.record = record
        self.underlying = underlying
    }

    /// The underlying error, or the record's place.
    public var description: String {
        underlying.map { "\($0)" } ?? "\(record.file), line \(record.line): malformed record"
    }

    /// The raw record carried by `error` or by an error under it.
    public static func record(in error: any Error) -> RawRecord? {
        var current: (any Error)? = error
        var depth = 0
        while let error = current, depth < 8 {
            if let raw = error as? RawRecordError { return raw.record }
            current = (error as? BatchError)?.underlying
            depth += 1
        }
        return nil
    }
}
