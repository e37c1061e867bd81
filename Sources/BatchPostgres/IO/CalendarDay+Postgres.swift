import Batch

extension CalendarDay {
    /// Days since 2000-01-01 in the proleptic Gregorian calendar: PostgreSQL's binary `date` (negative before it).
    var daysSince2000: Int32 {
        // Days before the day, the year counted from March so that February's length comes last.
        let shifted = month <= 2 ? year - 1 : year
        let yearDays = 365 * shifted + shifted / 4 - shifted / 100 + shifted / 400
        let monthDays = (153 * (month <= 2 ? month + 9 : month - 3) + 2) / 5
        // 730_425 is that count for 2000-01-01.
        return Int32(yearDays + monthDays + day - 1 - 730_425)
    }
}

extension CalendarDay: PostgresDecodable {
    /// A `date` column (`YYYY-MM-DD`, as the connection's ISO date style prints it).
    public init(postgresText text: String?, typeOID: UInt32) throws {
        let text = try Self.nonNull(text)
        guard let day = CalendarDay(text) else { throw Self.mismatch(text) }
        self = day
    }
}
