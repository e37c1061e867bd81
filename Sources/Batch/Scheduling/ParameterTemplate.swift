import Foundation

/// The parameters a schedule starts its job with, filled in from each slot.
///
/// Every string value, at any depth, may hold placeholders: `{{date}}` (the slot's day, `yyyy-MM-dd`),
/// `{{previousDate}}` (the day before) and `{{time}}` (the slot as ISO 8601 with the zone's offset,
/// `2026-11-25T03:00:00+01:00`), all in the schedule's time zone. The filled parameters also get the identifying
/// `"scheduledTime"`: the slot as ISO 8601 UTC (`2026-11-25T02:00:00Z`), so each slot is its own job instance.
///
/// ```swift
/// let template = try ParameterTemplate(["date": "{{date}}", "input": "/data/{{previousDate}}.csv"])
/// let parameters = template.parameters(for: slot, timeZone: berlin)
/// ```
public struct ParameterTemplate: Sendable, Hashable, Codable {
    /// The parameter the filled parameters get the slot in (ISO 8601 UTC).
    public static let scheduledTimeKey = "scheduledTime"
    /// The placeholders a string may hold.
    public static let placeholders = ["date", "previousDate", "time"]

    /// The template's values, placeholders unfilled.
    public let values: [String: JSONValue]

    /// Creates a template from a JSON object.
    /// - Throws: ``BatchError/Code/invalidSchedule`` for an unknown or unclosed placeholder (naming it and the
    ///   parameter), a `scheduledTime` key (the schedule sets it), or values that cannot be stored (a NUL character,
    ///   nesting too deep: see ``JobParameters/validate()``).
    public init(_ object: [String: JSONValue]) throws {
        do {
            try JobParameters(object).validate()
        } catch let error as BatchError {
            throw BatchError(.invalidSchedule, "parameter template: \(error.message)")
        }
        guard object[Self.scheduledTimeKey] == nil else {
            throw BatchError(
                .invalidSchedule,
                "parameter template: '\(Self.scheduledTimeKey)' is set by the schedule to the slot's time; remove it")
        }
        for (key, value) in object { try Self.check(value, path: [.key(key)]) }
        self.values = object
    }

    /// Creates a template from the JSON text of an object (empty text: no parameters).
    /// - Throws: ``BatchError/Code/invalidSchedule`` when the text is not a JSON object, or as ``init(_:)``.
    public init(json: String) throws {
        let parameters: JobParameters
        do {
            parameters = try JobParameters(json: json)
        } catch let error as BatchError {
            throw BatchError(.invalidSchedule, "parameter template: \(error.message)")
        }
        try self.init(parameters.values)
    }

    /// Decodes a JSON object, checked as ``init(_:)``.
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        guard case .object(let members) = value else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "a parameter template must be a JSON object, got \(value.typeName)"))
        }
        try self.init(members)
    }

    /// Encodes the template as a JSON object.
    public func encode(to encoder: any Encoder) throws {
        try JSONValue.object(values).encode(to: encoder)
    }

    /// The job parameters for `slot`: every placeholder filled from the slot's time in `timeZone`, and
    /// `"scheduledTime"` set to the slot as ISO 8601 UTC.
    public func parameters(for slot: Date, timeZone: TimeZone) -> JobParameters {
        let seconds = CronSchedule.seconds(flooring: slot)
        let offset = Int64(timeZone.secondsFromGMT(for: CronSchedule.date(seconds)))
        let local = WallTime(seconds + offset)
        let previous = WallTime(seconds + offset - 86_400)
        let filling = [
            "date": Self.day(local), "previousDate": Self.day(previous),
            "time": "\(Self.day(local))T\(Self.clock(local))\(Self.offset(offset))",
        ]
        var filled = values.mapValues { Self.fill($0, with: filling) }
        let utc = WallTime(seconds)
        filled[Self.scheduledTimeKey] = .string("\(Self.day(utc))T\(Self.clock(utc))Z")
        return JobParameters(filled)
    }

    // MARK: Placeholders

    /// The pieces of a string: literal text and placeholder names.
    private enum Piece {
        case text(Substring)
        case placeholder(Substring)
    }

    /// Splits `string` at its placeholders; nil when a `{{` is never closed.
    private static func pieces(_ string: String) -> [Piece]? {
        var pieces: [Piece] = []
        var rest = string[...]
        while let open = rest.range(of: "{{") {
            pieces.append(.text(rest[..<open.lowerBound]))
            let inside = rest[open.upperBound...]
            guard let close = inside.range(of: "}}") else { return nil }
            pieces.append(.placeholder(inside[..<close.lowerBound]))
            rest = inside[close.upperBound...]
        }
        pieces.append(.text(rest))
        return pieces
    }

    private static func check(_ value: JSONValue, path: [JSONPathComponent]) throws {
        switch value {
        case .string(let string):
            let name = JSONPath.describe(path)
            guard let pieces = pieces(string) else {
                throw BatchError(
                    .invalidSchedule, "parameter template: parameter '\(name)' has a '{{' that is never closed by '}}'")
            }
            for case .placeholder(let placeholder) in pieces where !placeholders.contains(String(placeholder)) {
                throw BatchError(
                    .invalidSchedule,
                    "parameter template: unknown placeholder {{\(placeholder.prefix(40))}} in parameter '\(name)'; "
                        + "use {{date}}, {{previousDate}} or {{time}}")
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() { try check(element, path: path + [.index(index)]) }
        case .object(let members):
            for (key, member) in members { try check(member, path: path + [.key(key)]) }
        case .null, .bool, .int, .double:
            break
        }
    }

    private static func fill(_ value: JSONValue, with filling: [String: String]) -> JSONValue {
        switch value {
        case .string(let string):
            guard string.contains("{{"), let pieces = pieces(string) else { return value }
            var output = ""
            for piece in pieces {
                switch piece {
                case .text(let text): output += text
                case .placeholder(let name): output += filling[String(name)] ?? "{{\(name)}}"
                }
            }
            return .string(output)
        case .array(let elements):
            return .array(elements.map { fill($0, with: filling) })
        case .object(let members):
            return .object(members.mapValues { fill($0, with: filling) })
        case .null, .bool, .int, .double:
            return value
        }
    }

    // MARK: Formatting

    private static func padded(_ value: Int64, _ width: Int = 2) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    private static func day(_ time: WallTime) -> String {
        "\(padded(time.year, 4))-\(padded(time.month))-\(padded(time.day))"
    }

    private static func clock(_ time: WallTime) -> String {
        "\(padded(time.hour)):\(padded(time.minute)):\(padded(time.second))"
    }

    /// `+01:00`, `-05:00`, `+00:00` (with `:ss` when the offset has seconds, as some historical zones do).
    private static func offset(_ seconds: Int64) -> String {
        let sign = seconds < 0 ? "-" : "+"
        let magnitude = abs(seconds)
        let rest = magnitude % 60 == 0 ? "" : ":\(padded(magnitude % 60))"
        return "\(sign)\(padded(magnitude / 3_600)):\(padded(magnitude / 60 % 60))\(rest)"
    }
}
