import Foundation

extension JobParameters {
    /// Creates parameters from a value's JSON encoding (the typed counterpart of ``init(json:)``): a ``CalendarDay``
    /// encodes as `yyyy-MM-dd`, a `Date` as ISO 8601.
    /// - Throws: ``BatchError/Code/invalidParameters`` when the value does not encode as a JSON object, or holds
    ///   what cannot be stored (see ``validate()``).
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            throw BatchError(.invalidParameters, "job parameters could not be encoded: \(error)", underlying: error)
        }
        try self.init(jsonValue: JSONValue(parsing: data))
    }

    /// The parameters decoded as `type`: the typed view a job declares with ``Job/init(_:parameters:steps:)``.
    ///
    /// A `Date` field accepts `yyyy-MM-dd` (midnight UTC) or an ISO 8601 time; a ``CalendarDay`` field
    /// `yyyy-MM-dd`. Unknown keys are ignored, as `Decodable` does.
    /// - Throws: ``BatchError/Code/invalidParameters`` naming the parameter at fault and what is wrong with it.
    public func decode<T: Decodable>(as type: T.Type = T.self) throws -> T {
        do {
            let data = try JSONEncoder().encode(jsonValue)
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .custom(Self.decodeDate)
            return try decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw BatchError(.invalidParameters, Self.describe(error, as: T.self), underlying: error)
        } catch let error as BatchError {
            throw error
        } catch {
            throw BatchError(
                .invalidParameters, "job parameters are not a valid \(T.self): \(error.batchDescription)",
                underlying: error)
        }
    }

    /// Reads `yyyy-MM-dd` or an ISO 8601 time, with or without fractional seconds.
    private static func decodeDate(_ decoder: any Decoder) throws -> Date {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        if let day = BatchDate.parse(text) { return day }
        if let time = try? Date.ISO8601FormatStyle().parse(text) { return time }
        if let time = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return time }
        throw DecodingError.dataCorruptedError(
            in: container, debugDescription: "expected a date yyyy-MM-dd or an ISO 8601 time, got '\(text.prefix(80))'")
    }

    /// One line naming the parameter and what is wrong with it.
    static func describe<T>(_ error: DecodingError, as type: T.Type) -> String {
        func name(_ path: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            (path + (last.map { [$0] } ?? [])).map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
                .joined(separator: ".")
        }
        let prefix = "invalid job parameters for \(T.self): "
        switch error {
        case .keyNotFound(let key, let context):
            return prefix + "missing job parameter '\(name(context.codingPath, key))'"
        case .typeMismatch(let expected, let context):
            return prefix + "job parameter '\(name(context.codingPath))' must be \(Self.kind(expected))"
        case .valueNotFound(let expected, let context):
            return prefix + "job parameter '\(name(context.codingPath))' must be \(Self.kind(expected)), got null"
        case .dataCorrupted(let context):
            let path = name(context.codingPath)
            return prefix + (path.isEmpty ? "" : "job parameter '\(path)': ") + error.briefDescriptionWithoutPath
        @unknown default:
            return prefix + "\(error)"
        }
    }

    /// The JSON kind a Swift type decodes from, for messages.
    private static func kind(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt.Type, is UInt64.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is [String: Any].Type: "an object"
        case is [Any].Type: "an array"
        default: "a \(type)"
        }
    }
}

extension DecodingError {
    /// The data-corrupted detail alone (the path is named separately).
    fileprivate var briefDescriptionWithoutPath: String {
        guard case .dataCorrupted(let context) = self else { return briefDescription }
        let detail = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
        return detail ?? context.debugDescription
    }
}
