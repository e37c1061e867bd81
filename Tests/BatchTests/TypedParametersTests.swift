import Batch
import BatchTestKit
import Foundation
import Testing

/// The typed parameters of a daily job.
struct Daily: Codable, Equatable {
    var date: CalendarDay
    var rows: Int?
    var region: String
}

@Suite("Typed job parameters")
struct TypedParametersTests {
    static func job(_ seen: Recorder<String>) -> Job {
        Job("typed", parameters: Daily.self) {
            Step("s") { context in
                let daily = try context.parameters(as: Daily.self)
                seen.append("\(daily.date) \(daily.rows ?? 0) \(daily.region)")
                seen.append(try context.parameters.string("region"))  // keyed access still works
            }
        }
        .validator(as: Daily.self) { daily in
            guard (1...100).contains(daily.rows ?? 1) else {
                throw BatchError(.invalidParameters, "job parameter 'rows' must be between 1 and 100")
            }
        }
    }

    @Test("steps read the parameters as the job's type, and by key")
    func decoded() async throws {
        let seen = Recorder<String>()
        let execution = try await makeOperator(Self.job(seen))
            .start("typed", params: #"{"date":"2026-11-25","rows":3,"region":"eu"}"#)
        #expect(execution.status == .completed)
        #expect(seen.all == ["2026-11-25 3 eu", "eu"])
    }

    @Test(
        "parameters that do not decode are refused before anything is stored, naming the parameter",
        arguments: [
            (#"{"region":"eu"}"#, "missing job parameter 'date'"),
            (
                #"{"date":"2026-02-30","region":"eu"}"#,
                "job parameter 'date': expected a day yyyy-MM-dd, got '2026-02-30'"
            ),
            (#"{"date":"2026-11-25","region":7}"#, "job parameter 'region' must be a string"),
            (#"{"date":"2026-11-25","region":"eu","rows":"many"}"#, "job parameter 'rows' must be an integer"),
            (#"{"date":"2026-11-25","region":"eu","rows":101}"#, "job parameter 'rows' must be between 1 and 100"),
        ])
    func refused(parameters: String, message: String) async throws {
        let jobOperator = try makeOperator(Self.job(Recorder()))
        let error = await #expect(throws: BatchError.self) {
            try await jobOperator.startAsync("typed", params: parameters)
        }
        #expect(error?.code == .invalidParameters)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        #expect(try await jobOperator.executions().isEmpty, "nothing stored")
    }

    @Test("parameters built from a value decode back to it")
    func roundTrip() throws {
        let daily = Daily(date: try #require(CalendarDay("2026-11-25")), rows: nil, region: "eu")
        let parameters = try JobParameters(encoding: daily)
        #expect(parameters.canonicalJSON == #"{"date":"2026-11-25","region":"eu"}"#)
        #expect(try parameters.decode(as: Daily.self) == daily)
    }

    @Test("a Date field takes a day or an ISO 8601 time")
    func dates() throws {
        struct Window: Decodable { var from: Date; var to: Date }
        let window = try JobParameters(json: #"{"from":"2026-11-25","to":"2026-11-25T12:30:00Z"}"#)
            .decode(as: Window.self)
        #expect(window.to.timeIntervalSince(window.from) == 12.5 * 3600)
    }
}

@Suite("Calendar days")
struct CalendarDayTests {
    @Test("a date parameter reads as the calendar day and as midnight UTC")
    func dayGetter() throws {
        let parameters = try JobParameters(json: #"{"date":"2024-02-29"}"#)
        let day = try parameters.day("date")
        #expect(day == CalendarDay(year: 2024, month: 2, day: 29))
        #expect(day.description == "2024-02-29")
        #expect(day.date == (try parameters.date("date")))
        #expect(CalendarDay(day.date) == day)
        #expect(throws: BatchError.self) { try JobParameters(json: #"{"date":"2023-02-29"}"#).day("date") }
    }

    @Test("only real days parse; days order by time")
    func parsing() throws {
        #expect(CalendarDay("2026-13-01") == nil)
        #expect(CalendarDay("2026-1-01") == nil)
        #expect(CalendarDay(year: 2026, month: 4, day: 31) == nil)
        let early = try #require(CalendarDay("0999-12-31"))
        #expect(early.description == "0999-12-31")
        #expect(early < (try #require(CalendarDay("2026-01-01"))))
    }
}
