import BatchRabbitMQ
import Foundation
import Testing

@Suite struct EventTimeTests {
    /// The event's time as Foundation's ISO 8601 formatter writes it, with milliseconds rounded.
    static func expected(_ time: Date) -> String {
        let milliseconds = Int64((time.timeIntervalSince1970 * 1000).rounded())
        let (seconds, fraction) = milliseconds.quotientAndRemainder(dividingBy: 1000)
        let adjusted = fraction < 0 ? (seconds - 1, fraction + 1000) : (seconds, fraction)
        let whole = Date(timeIntervalSince1970: TimeInterval(adjusted.0)).formatted(Date.ISO8601FormatStyle())
        return whole.dropLast() + "." + String(format: "%03d", adjusted.1) + "Z"
    }

    @Test func anEventsTimeIsWrittenAsFoundationsISO8601FormatterWritesIt() throws {
        var generator = SystemRandomNumberGenerator()
        var times = [
            Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: -0.0004), Date(timeIntervalSince1970: -1),
            Date(timeIntervalSince1970: 951_782_400.9995),  // 2000-02-29, rounding up to the next second
            Date(timeIntervalSince1970: -62_135_596_800),  // 0001-01-01
            Date(timeIntervalSince1970: 253_402_300_799.999),  // 9999-12-31T23:59:59.999
        ]
        for _ in 0..<2_000 {
            times.append(Date(timeIntervalSince1970: Double.random(in: -3e9...8e9, using: &generator)))
        }
        for time in times {
            let event = Event(executionId: 1, jobName: "j", instanceId: 2, status: .completed, time: time)
            let text = try #require(event.json.objectValue?["time"]?.stringValue)
            #expect(text == Self.expected(time), "\(time.timeIntervalSince1970)")
        }
    }
}
