import Batch
import BatchTestKit
import Foundation
import Testing

@Suite("Job parameters")
struct ParametersTests {
    @Test("built from a JSON object or a JSON string holding one")
    func objectOrString() throws {
        let fromObject = try JobParameters(json: #"{"date":"2026-11-25","n":3}"#)
        let fromString = try JobParameters(json: #""{\"n\":3,\"date\":\"2026-11-25\"}""#)
        #expect(fromObject == fromString)
        #expect(try fromObject.string("date") == "2026-11-25")
        #expect(try JobParameters(json: "  ") == JobParameters())
    }

    @Test(
        "malformed parameters are refused with a clear error",
        arguments: [
            (#"{"date":"#, "not JSON"), ("[1,2]", "must be a JSON object, got array"),
            (#""[1]""#, "string holding array"), (#""{oops""#, "string is not JSON"), ("42", "got integer"),
        ])
    func malformed(text: String, expected: String) throws {
        let error = #expect(throws: BatchError.self) { try JobParameters(json: text) }
        #expect(error?.code == .invalidParameters)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    }

    @Test(
        "what PostgreSQL cannot store, or JSON cannot hold, is refused naming the parameter",
        arguments: [
            (#"{"who":"a\u0000b"}"#, "parameter 'who' contains a NUL character (U+0000), which cannot be stored"),
            (#"{"a\u0000":1}"#, #"the name of parameter '["a\u0000"]' contains a NUL character (U+0000)"#),
            (#"{"o":{"list":[1,"x\u0000"]}}"#, "parameter 'o.list[1]' contains a NUL character (U+0000)"),
            (#"{"o":[{"k\u0000":true}]}"#, #"the name of parameter 'o[0]["k\u0000"]' contains a NUL"#),
            (#""{\"who\":\"\\u0000\"}""#, "parameter 'who' contains a NUL character (U+0000)"),
            (#"{"n":1,"n":2}"#, "job parameters are not JSON: duplicate key 'n' in object at the top level"),
            (#"{"o":{"n":1,"n":2}}"#, "duplicate key 'n' in object at o (byte offset 12)"),
            (#""{\"n\":1,\"n\":2}""#, "job parameters string is not JSON: duplicate key 'n'"),
            (#"{"n":18446744073709551616}"#, "integer 18446744073709551616 at n is outside the 64-bit range"),
            (#"{"n":18446744073709551617}"#, "integer 18446744073709551617 at n is outside the 64-bit range"),
            (#"{"x":1e400}"#, "number 1e400 at x is out of range"),
            (#"{"x":-1e400}"#, "number -1e400 at x is out of range"),
            (
                #"{"a":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}",
                "nesting deeper than 100 levels at a[0][0][0][0]…"
            ),
        ])
    func unstorable(text: String, expected: String) throws {
        let error = #expect(throws: BatchError.self) { try JobParameters(json: text) }
        #expect(error?.code == .invalidParameters)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    }

    @Test("every way in refuses NUL: JSON value, Decodable, validating initialiser and validate()")
    func nulEverywhere() throws {
        let bad: [String: JSONValue] = ["outer": ["inner": ["ok", "no\u{0}"]]]
        let expected = "parameter 'outer.inner[1]' contains a NUL character (U+0000), which cannot be stored"
        var messages: [String] = []
        for attempt in [
            { _ = try JobParameters(jsonValue: .object(bad)) },
            { _ = try JobParameters(validating: bad) },
            { try JobParameters(bad).validate() },
            {
                _ = try JSONDecoder().decode(
                    JobParameters.self, from: Data(#"{"outer":{"inner":["ok","no\u0000"]}}"#.utf8))
            },
        ] as [() throws -> Void] {
            let error = #expect(throws: BatchError.self) { try attempt() }
            #expect(error?.code == .invalidParameters)
            messages.append(error?.message ?? "")
        }
        #expect(messages == Array(repeating: expected, count: 4))
        var parameters = try JobParameters(json: #"{"who":"world"}"#)
        parameters["who"] = "wor\u{0}ld"
        #expect(throws: BatchError.self) { try parameters.validate() }
        #expect(throws: Never.self) { try JobParameters(["who": "world", "n": 1.5, "l": [nil, true]]).validate() }
    }

    @Test("validate() refuses non-finite numbers and nesting deeper than the parser accepts")
    func validateNumbersAndDepth() throws {
        let infinite = #expect(throws: BatchError.self) { try JobParameters(["x": .double(.infinity)]).validate() }
        #expect(infinite?.message.contains("parameter 'x' is inf, which JSON cannot hold") == true)
        #expect(throws: BatchError.self) { try JobParameters(["x": [.double(.nan)]]).validate() }
        var deepest: JSONValue = 1
        for _ in 1..<JSONValue.maximumNestingDepth { deepest = [deepest] }  // 99 arrays inside the object
        #expect(throws: Never.self) { try JobParameters(["a": deepest]).validate() }
        #expect(try JobParameters(json: JobParameters(["a": deepest]).canonicalJSON)["a"] == deepest)
        let tooDeep = #expect(throws: BatchError.self) { try JobParameters(["a": [deepest]]).validate() }
        #expect(tooDeep?.message.contains("parameters nest deeper than 100 levels at 'a[0][0][0][0]…") == true)
        #expect(throws: BatchError.self) { try JobParameters(json: JSONValue.object(["a": [deepest]]).canonicalJSON) }
    }

    @Test("typed getters read each type")
    func typedGetters() throws {
        let parameters = try JobParameters(
            json: #"{"s":"x","i":42,"d":2.5,"whole":3.0,"b":true,"date":"2024-02-29","o":{"k":[1,2]}}"#)
        #expect(try parameters.string("s") == "x")
        #expect(try parameters.int("i") == 42)
        #expect(try parameters.int("whole") == 3)
        #expect(try parameters.double("d") == 2.5)
        #expect(try parameters.double("i") == 42)
        #expect(try parameters.bool("b"))
        #expect(try parameters.object("o").value("k") == [1, 2])
        #expect(try parameters.decode("o", as: [String: [Int]].self) == ["k": [1, 2]])
        #expect(try parameters.int("absent", default: 7) == 7)
        let date = try parameters.date("date")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = calendar.dateComponents([.year, .month, .day, .hour], from: date)
        #expect(components == DateComponents(year: 2024, month: 2, day: 29, hour: 0))
    }

    @Test(
        "a wrong type or a missing key names the key and the expected type",
        arguments: [
            ("s", "int", "job parameter 's' must be an integer, got string"),
            ("d", "int", "job parameter 'd' must be an integer, got number"),
            ("i", "string", "job parameter 'i' must be a string, got integer"),
            ("s", "bool", "job parameter 's' must be a boolean, got string"),
            ("bad", "date", "job parameter 'bad' must be a date yyyy-MM-dd"),
            ("feb", "date", "job parameter 'feb' must be a date yyyy-MM-dd"),
            ("missing", "string", "missing job parameter 'missing' (expected a string)"),
            ("s", "object", "job parameter 's' must be an object"),
        ])
    func getterErrors(key: String, getter: String, expected: String) throws {
        let parameters = try JobParameters(
            json: #"{"s":"x","i":42,"d":2.5,"bad":"25/11/2026","feb":"2026-02-30"}"#)
        let error = #expect(throws: BatchError.self) {
            switch getter {
            case "int": _ = try parameters.int(key)
            case "string": _ = try parameters.string(key)
            case "bool": _ = try parameters.bool(key)
            case "date": _ = try parameters.date(key)
            default: _ = try parameters.object(key)
            }
        }
        #expect(error?.code == .invalidParameters)
        #expect(error?.message.hasPrefix(expected) == true, "\(error?.message ?? "")")
    }

    @Test("canonical JSON sorts keys, so key order does not change the instance key")
    func canonicalKey() throws {
        let a = try JobParameters(json: #"{"b":1,"a":{"y":true,"x":[1,"2"]},"c":"\"q\"\n"}"#)
        let b = try JobParameters(json: #"{"a":{"x":[1,"2"],"y":true},"c":"\"q\"\n","b":1}"#)
        #expect(a.canonicalJSON == #"{"a":{"x":[1,"2"],"y":true},"b":1,"c":"\"q\"\n"}"#)
        #expect(a.instanceKey == b.instanceKey)
        #expect(a.instanceKey.count == 64)
        let c = try JobParameters(json: #"{"b":2,"a":{"x":[1,"2"],"y":true},"c":"\"q\"\n"}"#)
        #expect(c.instanceKey != a.instanceKey)
        #expect(JobParameters(["n": 1]).instanceKey != JobParameters(["n": "1"]).instanceKey)
        // The SHA-256 of the canonical JSON's bytes in lowercase hex, as `sha256sum` prints it: keys stored by one
        // version are found by the next.
        #expect(JobParameters().instanceKey == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        #expect(
            JobParameters(["date": "2026-12-01", "n": 1]).instanceKey
                == "102b72fa87cab763911d6b8815567a8b84dafbbf4f0591b7cf78e9fa1af14fb4")
    }

    @Test("non-identifying parameters do not make a new instance")
    func nonIdentifying() async throws {
        let job = Job("nonid") { Step("s") { _ in } }.nonIdentifying("chunkSize")
        let jobOperator = try makeOperator(job)
        let first = try await jobOperator.start("nonid", params: #"{"date":"2026-11-25","chunkSize":10}"#)
        let error = await #expect(throws: BatchError.self) {
            try await jobOperator.start("nonid", params: #"{"date":"2026-11-25","chunkSize":99}"#)
        }
        #expect(first.status == .completed)
        #expect(error?.code == .alreadyComplete)
    }
}

@Suite("Batch statuses")
struct StatusTests {
    @Test("worst wins: COMPLETED < STARTING < STARTED < STOPPING < STOPPED < FAILED < ABANDONED < UNKNOWN")
    func combination() {
        let order: [BatchStatus] = [
            .completed, .starting, .started, .stopping, .stopped, .failed, .abandoned, .unknown,
        ]
        for (i, a) in order.enumerated() {
            for (j, b) in order.enumerated() {
                #expect(a.combined(with: b) == order[max(i, j)], "\(a) + \(b)")
            }
        }
        #expect([BatchStatus]().combined() == .completed)
        #expect([BatchStatus.completed, .stopped, .started].combined() == .stopped)
        #expect(BatchStatus.allCases.count == 8)
        #expect(BatchStatus(rawValue: "STOPPING") == .stopping)
    }

    @Test("running and restartable statuses")
    func classes() {
        #expect(BatchStatus.allCases.filter(\.isRunning) == [.starting, .started, .stopping])
        #expect(BatchStatus.allCases.filter(\.isRestartable) == [.stopped, .failed])
    }
}
