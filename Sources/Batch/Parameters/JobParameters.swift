import Foundation

/// The parameters of a job run: a JSON object shared by every step of the job.
///
/// Different identifying parameters make different job instances. Build them from a JSON object or from a
/// JSON string holding one (GoBatch's form), then read them with typed getters that throw a clear error naming
/// the key and the type expected:
/// ```swift
/// let parameters = try JobParameters(json: #"{"date":"2026-11-25","chunkSize":500}"#)
/// let date = try parameters.date("date")
/// let chunkSize = try parameters.int("chunkSize", default: 100)
/// ```
public struct JobParameters: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The parameters by name.
    public var values: [String: JSONValue]

    /// Creates parameters from a dictionary, unchecked: call ``validate()`` (or use ``init(validating:)``) when the
    /// values come from outside.
    public init(_ values: [String: JSONValue] = [:]) {
        self.values = values
    }

    /// Creates parameters from a JSON value that is an object, or a string holding the JSON text of one.
    ///
    /// - Throws: ``BatchError/Code/invalidParameters`` when the value is neither, or holds what cannot be stored
    ///   (see ``validate()``).
    public init(jsonValue: JSONValue) throws {
        switch jsonValue {
        case .object(let members):
            self.values = members
        case .string(let text):
            let inner: JSONValue
            do {
                inner = try JSONValue(parsing: text)
            } catch let error as BatchError {
                throw BatchError(.invalidParameters, "job parameters string is not JSON: \(Self.reason(error))")
            }
            guard case .object(let members) = inner else {
                throw BatchError(
                    .invalidParameters, "job parameters must be a JSON object, got a string holding \(inner.typeName)")
            }
            self.values = members
        case .null:
            self.values = [:]
        default:
            throw BatchError(.invalidParameters, "job parameters must be a JSON object, got \(jsonValue.typeName)")
        }
        try validate()
    }

    /// Creates parameters from JSON text: an object, or a JSON string holding one. Empty text means no parameters.
    ///
    /// - Throws: ``BatchError/Code/invalidParameters`` when the text is not JSON (see
    ///   `JSONValue(parsing:)`: duplicate keys, integers beyond 64 bits and the like are
    ///   refused), not an object, or holds what cannot be stored (see ``validate()``).
    public init(json text: String) throws {
        if text.allSatisfy(\.isWhitespace) {
            self.init()
            return
        }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: text)
        } catch let error as BatchError {
            throw BatchError(.invalidParameters, "job parameters are not JSON: \(Self.reason(error))")
        }
        try self.init(jsonValue: value)
    }

    /// A parse error's message without its `invalid JSON: ` prefix.
    private static func reason(_ error: BatchError) -> String {
        error.message.hasPrefix("invalid JSON: ")
            ? String(error.message.dropFirst("invalid JSON: ".count)) : error.message
    }

    /// Decodes a JSON object, refusing what cannot be stored (see ``validate()``).
    public init(from decoder: any Decoder) throws {
        try self.init(jsonValue: JSONValue(from: decoder))
    }

    /// Encodes the parameters as a JSON object.
    public func encode(to encoder: any Encoder) throws {
        try JSONValue.object(values).encode(to: encoder)
    }

    /// The value of a parameter, or nil when it is absent.
    public subscript(key: String) -> JSONValue? {
        get { values[key] }
        set { values[key] = newValue }
    }

    /// The parameters as a JSON object value.
    public var jsonValue: JSONValue { .object(values) }

    /// The canonical JSON of all parameters (keys sorted, no whitespace).
    public var canonicalJSON: String { jsonValue.canonicalJSON }

    /// The parameters with only the given keys left out; used to compute the identifying subset.
    public func removing(_ keys: some Sequence<String>) -> JobParameters {
        var copy = self
        for key in keys { copy.values.removeValue(forKey: key) }
        return copy
    }

    /// The job instance key of these parameters: the hex SHA-256 of their canonical JSON.
    ///
    /// Pass only the identifying parameters (see ``Job/identifyingParameters(_:)``).
    public var instanceKey: String { sha256Hex(canonicalJSON) }

    /// The canonical JSON.
    public var description: String { canonicalJSON }
}
