import Foundation

extension JobParameters {
    private func required(_ key: String, _ expected: String) throws -> JSONValue {
        guard let value = values[key], value != .null else {
            throw BatchError(.invalidParameters, "missing job parameter '\(key)' (expected \(expected))")
        }
        return value
    }

    private func mismatch(_ key: String, _ expected: String, _ value: JSONValue) -> BatchError {
        BatchError(
            .invalidParameters,
            "job parameter '\(key)' must be \(expected), got \(value.typeName) \(value.canonicalJSON.prefix(80))")
    }

    /// The string parameter `key`.
    /// - Throws: ``BatchError/Code/invalidParameters`` when it is missing or not a string.
    public func string(_ key: String) throws -> String {
        let value = try required(key, "a string")
        guard let string = value.stringValue else { throw mismatch(key, "a string", value) }
        return string
    }

    /// The string parameter `key`, or `defaultValue` when it is absent.
    /// - Throws: ``BatchError/Code/invalidParameters`` when it is present but not a string.
    public func string(_ key: String, default defaultValue: String) throws -> String {
        values[key] == nil ? defaultValue : try string(key)
    }

    /// The integer parameter `key` (a number with no fractional part; `"42"` as a string is refused).
    /// - Throws: ``BatchError/Code/invalidParameters`` when it is missing or not an integer.
    public func int(_ key: String) throws -> Int {
        let value = try required(key, "an integer")
        guard let int = value.intValue, let exact = Int(exactly: int) else {
            throw mismatch(key, "an integer", value)
        }
        return exact
    }

    /// The integer parameter `key`, or `defaultValue` when it is absent.
    /// - Throws: ``BatchError/Code/invalidParameters`` when it is present but not an integer.
    public func int(_ key: String, default defaultValue: Int) throws -> Int {
        values[key] == nil ? defaultValue : try int(key)
    }

    /// The number parameter `key` (an integer or a number).
    /// - Throws: ``BatchError/Code/invalidParameters`` when it is missing or not a number.
    public func double(_ key: String) throws -> Double {
        let value = try required(key, "a number")
        guard let double = value.doubleValue else { throw mismatch(key, "a number", value) }
        return double
    }

    /// The number parameter `key`, or `defaultValue` when it is absent.
    /// - Throws: ``BatchError/Code/invalidParameters`` when it is present but not a number.
    public func double(_ key: String, default defaultValue: Double) throws -> Double {
        values[key] == nil ? defaultValue : try double(key)
    }

    /// The boolean parameter `key` (`true` or `false`, not a string).
    /// - Throws: ``BatchError/Code/invalidParameters`` when it is missing or not a boolean.
    public func bool(_ key: String) throws -> Bool {
        let value = try required(key, "a boolean")
        guard let bool = value.boolValue else { throw mismatch(key, "a boolean", value) }
        return bool
    }

    /// The boolean parameter `key`, or `defaultValue` when it is absent.
    /// - Throws: ``BatchError/Code/invalidParameters`` when it is present but not a boolean.
    public func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        values[key] == nil ? defaultValue : try bool(key)
    }

    /// The date parameter `key`, written `yyyy-MM-dd`, as midnight UTC of that day.
    /// - Throws: ``BatchError/Code/invalidParameters`` when it is missing, not a string, or not a real date.
    public func date(_ key: String) throws -> Date {
        let value = try required(key, "a date yyyy-MM-dd")
        guard let text = value.stringValue, let date = BatchDate.parse(text) else {
            throw mismatch(key, "a date yyyy-MM-dd", value)
        }
        return date
    }

    /// The nested parameter `key` as raw JSON (an object, an array or any other value).
    /// - Throws: ``BatchError/Code/invalidParameters`` when it is missing.
    public func value(_ key: String) throws -> JSONValue {
        try required(key, "a value")
    }

    /// The nested object parameter `key`, as parameters of its own.
    /// - Throws: ``BatchError/Code/invalidParameters`` when it is missing or not an object.
    public func object(_ key: String) throws -> JobParameters {
        let value = try required(key, "an object")
        guard let members = value.objectValue else { throw mismatch(key, "an object", value) }
        return JobParameters(members)
    }

    /// The parameter `key` decoded as `type` (any `Decodable`: arrays, nested structs, ...).
    /// - Throws: ``BatchError/Code/invalidParameters`` when it is missing or does not decode.
    public func decode<T: Decodable>(_ key: String, as type: T.Type = T.self) throws -> T {
        let value = try required(key, "\(T.self)")
        do {
            let data = try JSONEncoder().encode(value)
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw BatchError(
                .invalidParameters, "job parameter '\(key)' is not a valid \(T.self): \(error.briefDescription)",
                underlying: error)
        }
    }
}

/// Dates written `yyyy-MM-dd`, read and written in UTC.
enum BatchDate {
    static func parse(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day)
        guard components.isValidDate(in: calendar), let date = calendar.date(from: components) else { return nil }
        return date
    }
}
