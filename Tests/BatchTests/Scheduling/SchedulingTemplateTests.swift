import Batch
import Foundation
import Testing

/// `ParameterTemplate`: placeholders filled from a slot in the schedule's zone, plus `scheduledTime`.
@Suite("Scheduling: parameter templates")
struct SchedulingTemplateTests {
    static let berlin = TimeZone(identifier: "Europe/Berlin")!
    static let newYork = TimeZone(identifier: "America/New_York")!

    @Test("a slot at 23:30 UTC is the next day in Berlin: the placeholders say so, at any depth")
    func fillsInTheZone() throws {
        let template = try ParameterTemplate([
            "date": "{{date}}", "input": "/data/{{previousDate}}/in-{{date}}.csv",
            "files": ["a-{{date}}", 7, ["deep": "{{time}}"]], "meta": ["note": "run at {{time}}", "n": 3],
            "plain": "no placeholder", "flag": true,
        ])
        let parameters = template.parameters(for: try Instant.at("2026-11-25T23:30:00Z"), timeZone: Self.berlin)
        #expect(
            parameters.values == [
                "date": "2026-11-26", "input": "/data/2026-11-25/in-2026-11-26.csv",
                "files": ["a-2026-11-26", 7, ["deep": "2026-11-26T00:30:00+01:00"]],
                "meta": ["note": "run at 2026-11-26T00:30:00+01:00", "n": 3], "plain": "no placeholder",
                "flag": true, "scheduledTime": "2026-11-25T23:30:00Z",
            ])
        #expect(try parameters.day("date").description == "2026-11-26")
    }

    @Test("the same slot in UTC and in New York, and the day before across month and year ends")
    func otherZones() throws {
        let template = try ParameterTemplate(["date": "{{date}}", "previous": "{{previousDate}}", "time": "{{time}}"])
        let slot = try Instant.at("2026-11-25T23:30:00Z")
        #expect(
            template.parameters(for: slot, timeZone: .gmt).values == [
                "date": "2026-11-25", "previous": "2026-11-24", "time": "2026-11-25T23:30:00+00:00",
                "scheduledTime": "2026-11-25T23:30:00Z",
            ])
        #expect(
            template.parameters(for: try Instant.at("2026-11-26T03:00:00Z"), timeZone: Self.newYork).values == [
                "date": "2026-11-25", "previous": "2026-11-24", "time": "2026-11-25T22:00:00-05:00",
                "scheduledTime": "2026-11-26T03:00:00Z",
            ])
        let newYear = template.parameters(for: try Instant.at("2027-01-01T00:00:00Z"), timeZone: .gmt)
        #expect(newYear["previous"] == "2026-12-31")
        let leap = template.parameters(for: try Instant.at("2028-03-01T06:00:00Z"), timeZone: .gmt)
        #expect(leap["previous"] == "2028-02-29")
        // Summer time in Berlin: the offset follows the slot.
        let summer = template.parameters(for: try Instant.at("2026-07-01T00:00:00Z"), timeZone: Self.berlin)
        #expect(summer["time"] == "2026-07-01T02:00:00+02:00")
    }

    @Test("each slot makes its own identifying parameters, even with an empty template")
    func scheduledTimeIdentifies() throws {
        let template = try ParameterTemplate([:])
        let first = template.parameters(for: try Instant.at("2026-11-25T02:00:00Z"), timeZone: Self.berlin)
        let second = template.parameters(for: try Instant.at("2026-11-26T02:00:00Z"), timeZone: Self.berlin)
        #expect(first.values == ["scheduledTime": "2026-11-25T02:00:00Z"])
        #expect(first.instanceKey != second.instanceKey)
    }

    @Test(
        "unknown or unclosed placeholders and a scheduledTime key are refused, naming them",
        arguments: [
            (#"{"date": "{{dat}}"}"#, "unknown placeholder {{dat}} in parameter 'date'"),
            (#"{"a": {"b": ["x", "{{ date }}"]}}"#, "unknown placeholder {{ date }} in parameter 'a.b[1]'"),
            (#"{"date": "{{Date}}"}"#, "use {{date}}, {{previousDate}} or {{time}}"),
            (#"{"date": "{{date"}"#, "parameter 'date' has a '{{' that is never closed"),
            (#"{"scheduledTime": "x"}"#, "'scheduledTime' is set by the schedule"),
            (#"[1]"#, "must be a JSON object"),
            (#"{"a": 1, "a": 2}"#, "duplicate"),
        ])
    func refused(_ json: String, _ fragment: String) {
        do {
            let template = try ParameterTemplate(json: json)
            Issue.record("accepted \(template)")
        } catch let error as BatchError {
            #expect(error.code == .invalidSchedule)
            #expect(error.message.hasPrefix("parameter template: "), "\(error.message)")
            #expect(error.message.contains(fragment), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("a template encodes as its JSON object and decodes checked")
    func codable() throws {
        let template = try ParameterTemplate(json: #"{"date": "{{date}}", "n": 1}"#)
        let data = try JSONEncoder().encode(template)
        #expect(try JSONDecoder().decode(ParameterTemplate.self, from: data) == template)
        #expect(throws: (any Error).self) {
            try JSONDecoder().decode(ParameterTemplate.self, from: Data(#"{"date": "{{when}}"}"#.utf8))
        }
        #expect(try ParameterTemplate(json: "").values.isEmpty)
    }
}
