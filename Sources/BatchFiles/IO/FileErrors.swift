import Batch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The errors of the file readers and writers, built in one place so their messages read alike.
enum FileErrors {
    /// A system call on `path` failed with `errno`.
    static func system(_ action: String, _ path: String, errno code: Int32 = errno) -> BatchError {
        BatchError(.fileFailure, "cannot \(action) '\(path)': \(String(cString: strerror(code)))")
    }

    /// Something else went wrong with `path`.
    static func file(_ path: String, _ problem: String) -> BatchError {
        BatchError(.fileFailure, "'\(path)': \(problem)")
    }

    /// A record of `path` is malformed: names the file, the line and, when known, the field. With `record`, the
    /// underlying error is a ``RawRecordError`` carrying the raw record (and `underlying`), for a read skip.
    static func malformed(
        _ path: String, line: Int, field: FieldName? = nil, _ problem: String, underlying: (any Error)? = nil,
        record: RawRecord? = nil
    ) -> BatchError {
        let place = field.map { ", \($0)" } ?? ""
        let cause = record.map { RawRecordError(record: $0, underlying: underlying) } ?? underlying
        return BatchError(.malformedRecord, "\(path), line \(line)\(place): \(problem)", underlying: cause)
    }

    /// An item cannot be written as a record of `path`: names the record (from 1; 0 for the header) and the field.
    static func unwritable(_ path: String, record: Int64, field: FieldName?, _ problem: String) -> BatchError {
        let place = field.map { ", \($0)" } ?? ""
        let which = record == 0 ? "the header" : "record \(record)"
        return BatchError(.malformedRecord, "cannot write \(which) of '\(path)'\(place): \(problem)")
    }

    /// A configuration value is invalid.
    static func definition(_ problem: String) -> BatchError {
        BatchError(.invalidDefinition, problem)
    }
}

/// A field named in an error: by its column name when the file has one, and by its position.
struct FieldName: CustomStringConvertible {
    /// The column's name, if known.
    var name: String?
    /// The column's index, from 0, if known.
    var index: Int?

    var description: String {
        switch (name, index) {
        case (let name?, let index?): "field '\(name)' (column \(index + 1))"
        case (let name?, nil): "field '\(name)'"
        case (nil, let index?): "column \(index + 1)"
        case (nil, nil): "a field"
        }
    }
}

extension DecodingError {
    /// What every case carries: where in the record decoding stopped and why; nil for a case added later.
    var decodingContext: Context? {
        switch self {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
            .dataCorrupted(let context):
            context
        @unknown default:
            nil
        }
    }
}
