import Batch

extension CalendarDay {
    /// Days since 2000-01-01 in the proleptic Gregorian calendar: PostgreSQL's binary `date` (negative before it).
    var daysSince2000: Int32 {
        // 10_957 days from 1970-01-01 to 2000-01-01; years are 1…9999, so the count fits easily.
        Int32(CivilCalendar.days(fromYear: Int64(year), month: Int64(month), day: Int64(day)) - 10_957)
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
