import ArgumentParser
import Batch

/// Checks of command-line values, each refusal saying which value is wrong and why: numbers are parsed
/// unconditionally (so `-1` reaches the check instead of being taken for an option), then bounded here, before
/// anything connects or is published.
enum CLIValidation {
    /// The longest wait, lease or grace a flag may ask for: one day.
    static let maxSeconds: Double = 86_400

    /// Refuses a number of seconds outside `(0, maxSeconds]` (or `[0, maxSeconds]` with `allowZero`); NaN and
    /// infinities included.
    static func seconds(_ value: Double, _ option: String, allowZero: Bool = false) throws {
        let valid = value.isFinite && (allowZero ? value >= 0 : value > 0) && value <= maxSeconds
        guard valid else {
            let lower = allowZero ? "0" : "more than 0"
            throw ValidationError(
                "\(option) must be a number of seconds, \(lower) and at most \(Int(maxSeconds)), got \(value)")
        }
    }

    /// Refuses an integer outside `range`.
    static func integer(_ value: Int, _ option: String, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ValidationError(
                "\(option) must be an integer from \(range.lowerBound) to \(range.upperBound), got \(value)")
        }
    }

    /// An execution id: a positive integer.
    static func executionId(_ text: String) throws -> Int64 {
        guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let id = Int64(text),
            id >= 1
        else {
            throw ValidationError("execution id must be a positive integer, got \(text.prefix(100))")
        }
        return id
    }

    /// What `stop`, `restart` and `abandon` act on: an execution id (anything that looks like a number, which must
    /// then be a positive integer) or a job name.
    static func target(_ text: String) throws -> JobReference {
        if looksNumeric(text) { return .executionId(try executionId(text)) }
        guard !text.hasPrefix("-") else { throw ValidationError("unknown option '\(text.prefix(100))'") }
        guard !text.isEmpty else { throw ValidationError("the job name or execution id is empty") }
        return .name(text)
    }

    /// The one positional value of a command whose positional is parsed with `.allUnrecognized` (so `-5` is kept).
    static func single(_ values: [String], _ what: String) throws -> String {
        guard let value = values.first else { throw ValidationError("missing \(what)") }
        guard values.count == 1 else {
            let extra = values.dropFirst().first ?? ""
            throw ValidationError(
                extra.hasPrefix("-")
                    ? "unknown option '\(extra.prefix(100))'" : "unexpected argument '\(extra.prefix(100))'")
        }
        return value
    }

    /// Digits with an optional sign, or anything else Double reads (`1e3`, `0.5`): meant as a number.
    private static func looksNumeric(_ text: String) -> Bool {
        let unsigned = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        guard let first = unsigned.first else { return false }
        return first.isASCII && (first.isNumber || first == ".") && Double(text) != nil
            || unsigned.allSatisfy { $0.isASCII && $0.isNumber } && !unsigned.isEmpty
    }
}
