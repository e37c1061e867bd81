/// The values one field of a cron expression selects, as a bit set (bit `n` set: value `n` selected).
struct CronValues: Sendable, Hashable {
    /// The bits; only values 0…63 are representable, enough for every cron field.
    var bits: UInt64 = 0

    /// Whether `value` is selected.
    func contains(_ value: Int) -> Bool {
        (0..<64).contains(value) && bits & (1 << UInt64(value)) != 0
    }

    /// The smallest selected value at or above `value`, or nil.
    func next(atOrAfter value: Int) -> Int? {
        guard value < 64 else { return nil }
        let masked = value <= 0 ? bits : bits & (UInt64.max << UInt64(value))
        return masked == 0 ? nil : masked.trailingZeroBitCount
    }

    /// The largest selected value at or below `value`, or nil.
    func previous(atOrBelow value: Int) -> Int? {
        guard value >= 0 else { return nil }
        let masked = value >= 63 ? bits : bits & ((1 << UInt64(value + 1)) - 1)
        return masked == 0 ? nil : 63 - masked.leadingZeroBitCount
    }

    /// Selects `value`.
    mutating func insert(_ value: Int) { bits |= 1 << UInt64(value) }

    /// The selected values, ascending.
    var values: [Int] { (0..<64).filter(contains) }
}

/// What one field of a cron expression accepts: its name for messages, its range and its value names.
struct CronFieldKind: Sendable {
    /// The name used in messages (`minute field: ...`).
    let name: String
    /// The smallest value.
    let minimum: Int
    /// The largest value.
    let maximum: Int
    /// Three-letter names (upper case) and their values.
    let names: [String: Int]
    /// How the names are described in messages (`JAN–DEC`).
    let namesHint: String?

    static let second = CronFieldKind(name: "second", minimum: 0, maximum: 59, names: [:], namesHint: nil)
    static let minute = CronFieldKind(name: "minute", minimum: 0, maximum: 59, names: [:], namesHint: nil)
    static let hour = CronFieldKind(name: "hour", minimum: 0, maximum: 23, names: [:], namesHint: nil)
    static let dayOfMonth = CronFieldKind(name: "day-of-month", minimum: 1, maximum: 31, names: [:], namesHint: nil)
    static let month = CronFieldKind(
        name: "month", minimum: 1, maximum: 12,
        names: [
            "JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10,
            "NOV": 11, "DEC": 12,
        ], namesHint: "a month name JAN–DEC")
    /// Day of week: 0…7, both 0 and 7 meaning Sunday (7 is folded onto 0 once parsed).
    static let dayOfWeek = CronFieldKind(
        name: "day-of-week", minimum: 0, maximum: 7,
        names: ["SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6],
        namesHint: "a day name SUN–SAT")

    /// Parses the field's text: a comma-separated list of `*`, `n`, `a-b`, each optionally followed by `/step`
    /// (`n/step` meaning `n-max/step`).
    /// - Returns: the values.
    /// - Throws: ``BatchError/Code/invalidSchedule`` naming this field and what is wrong.
    func parse(_ text: String) throws -> CronValues {
        var values = CronValues()
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            try parseItem(String(item), into: &values, whole: text)
        }
        if isDayOfWeek, values.contains(7) {
            values.bits &= ~(1 << 7)
            values.insert(0)
        }
        return values
    }

    private var isDayOfWeek: Bool { name == CronFieldKind.dayOfWeek.name }

    /// The largest distinct value: the maximum, but 6 for day of week (whose 7 is Sunday again, folded onto 0).
    private var top: Int { isDayOfWeek ? 6 : maximum }

    private func fail(_ reason: String) -> BatchError {
        BatchError(.invalidSchedule, "\(name) field: \(reason)")
    }

    private func parseItem(_ item: String, into values: inout CronValues, whole: String) throws {
        guard !item.isEmpty else { throw fail("empty item in the list '\(whole)'") }
        let parts = item.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { throw fail("'\(item)' has more than one step '/'") }
        let span = maximum - minimum + 1
        var step = 1
        if parts.count == 2 {
            let stepText = String(parts[1])
            guard !stepText.isEmpty, stepText.utf8.allSatisfy({ (48...57).contains($0) }),
                let parsed = Int(stepText.prefix(9))
            else { throw fail("step '\(stepText)' in '\(item)' is not a number") }
            guard (1...span).contains(parsed), stepText.count <= 9 else {
                throw fail("step \(stepText) in '\(item)' is out of range 1–\(span)")
            }
            step = parsed
        }
        let rangeText = String(parts[0])
        let low: Int
        let high: Int
        if rangeText == "*" {
            low = minimum
            high = top
        } else {
            let bounds = rangeText.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count <= 2 else { throw fail("'\(rangeText)' is not a value or a range a-b") }
            low = try value(String(bounds[0]), in: item)
            if bounds.count == 2 {
                high = try value(String(bounds[1]), in: item)
                guard low <= high else {
                    throw fail("range \(rangeText) is reversed: its start must not be after its end")
                }
            } else {
                high = parts.count == 2 ? maximum : low
            }
        }
        for value in stride(from: low, through: high, by: step) { values.insert(value) }
    }

    private func value(_ text: String, in item: String) throws -> Int {
        guard !text.isEmpty else { throw fail("'\(item)' is missing a value") }
        if text.utf8.allSatisfy({ (48...57).contains($0) }) {
            guard text.count <= 9, let number = Int(text), (minimum...maximum).contains(number) else {
                throw fail("\(text.prefix(20)) is out of range \(minimum)–\(maximum)")
            }
            return number
        }
        if let named = names[text.uppercased()] { return named }
        let shown = text.prefix(20)
        if ["L", "W", "#", "?"].contains(where: { text.uppercased().contains($0) }) {
            throw fail("'\(shown)' is not supported (no L, W, # or ?): use numbers, ranges, lists and steps")
        }
        if let namesHint {
            throw fail("'\(shown)' is neither a number \(minimum)–\(maximum) nor \(namesHint)")
        }
        throw fail("'\(shown)' is not a number \(minimum)–\(maximum)")
    }
}
