import Batch
import BatchRabbitMQ
import BatchTestKit
import Foundation
import Testing

/// `swiftbatch server` against the real servers: a start over HTTP runs on a worker, every status code the API
/// promises, the token, the body cap, paging and filters.
@Suite(.tags(.endToEnd), .timeLimit(.minutes(3)))
struct ServerAPITests {
    @Test func aStartOverHTTPRunsOnAWorkerAndShowsCompleted() async throws {
        try await ServerWorld.with { world in
            let id = try await world.start("hello", #"{"who":"http"}"#)
            let detail = try await world.waitFor(id, status: "COMPLETED")
            #expect(detail["jobName"]?.stringValue == "hello")
            #expect(detail["parameters"]?.objectValue?["who"]?.stringValue == "http")
            let steps = detail["steps"]?.arrayValue ?? []
            #expect(steps.map { $0.objectValue?["name"]?.stringValue } == ["greet"])
            #expect(steps.first?.objectValue?["status"]?.stringValue == "COMPLETED")
            #expect(detail["workerId"]?.stringValue?.isEmpty == false)
            // The list shows it too, and the workers list the one worker with its heartbeat.
            let list = try await world.get("/api/executions?job=hello").json.objectValue?["executions"]?.arrayValue
            #expect(list?.first?.objectValue?["id"]?.intValue == id)
            let workers = try await world.get("/api/workers").json.objectValue?["workers"]?.arrayValue ?? []
            #expect(workers.count == 1)
            #expect((workers.first?.objectValue?["heartbeatAgeSeconds"]?.doubleValue ?? 99) < 10)
            #expect(workers.first?.objectValue?["capacity"]?.intValue == 4, "the worker's --concurrency")
            #expect(workers.first?.objectValue?["partitions"]?.intValue == 0)
            let jobs = try await world.get("/api/jobs").json.objectValue?["jobs"]?.arrayValue ?? []
            #expect(jobs.compactMap { $0.objectValue?["name"]?.stringValue } == ["count", "daily-accounting", "hello"])
        }
    }

    @Test func refusalsHaveTheirStatusCodesAndMessages() async throws {
        try await ServerWorld.with { world in
            // 404: an unknown job or execution.
            let unknownJob = try await world.post("/api/jobs/nope/start", "{}")
            #expect(unknownJob.status == 404)
            #expect(unknownJob.error.contains("no job named 'nope'"))
            // Path parameters are percent-decoded: the message names the job as it was meant.
            #expect(try await world.post("/api/jobs/no%20pe/start", "{}").error.contains("no job named 'no pe'"))
            #expect(try await world.get("/api/executions/424242").status == 404)
            #expect(try await world.post("/api/executions/424242/restart").status == 404)
            // 400: what the workers would refuse never leaves the server, with a message saying why.
            let bad: [(String, String)] = [
                (#"{"who":"a\u0000b"}"#, "NUL"), (#"{"who":"a","who":"b"}"#, "duplicate key"),
                (#"[1]"#, "JSON object"), (#"{"who":1e400}"#, "range"), (#"{"n":123456789012345678901}"#, "64"),
                (String(repeating: "[", count: 101) + String(repeating: "]", count: 101), "nesting deeper"),
                (#"{"who":""# + String(repeating: "x", count: 201) + #""}"#, "200"), ("{", "not valid JSON"),
            ]
            for (body, reason) in bad {
                let answer = try await world.post("/api/jobs/hello/start", body)
                #expect(answer.status == 400, "\(body.prefix(40)): \(answer.status) \(answer.text)")
                #expect(answer.error.contains(reason), "\(body.prefix(40)): \(answer.error)")
            }
            // An empty body is `{}`, refused like it when the job's validator needs a parameter.
            let empty = try await world.post("/api/jobs/daily-accounting/start")
            #expect(empty.status == 400 && empty.error.contains("'date'"), "\(empty.status) \(empty.text)")
            #expect(try await world.get("/api/executions/abc").status == 400)
            #expect(try await world.get("/api/executions/0").status == 400)
            #expect(try await world.get("/api/executions?limit=0").status == 400)
            #expect(try await world.get("/api/executions?limit=501").status == 400)
            #expect(try await world.get("/api/executions?status=DONE").status == 400)
            #expect(try await world.get("/api/executions?before=-1").status == 400)
            // Nothing was stored for any of them.
            #expect(try await world.repository.jobExecutions(jobName: nil, limit: 10).isEmpty)
            // 413: a body over 64 KiB.
            let big = try await world.post(
                "/api/jobs/hello/start", #"{"who":""# + String(repeating: "x", count: 70_000) + #""}"#)
            #expect(big.status == 413)
            #expect(big.error.contains("64 KiB"))
            // 409: a start of a completed instance, a restart of a completed execution.
            let id = try await world.start("hello", #"{"who":"twice"}"#)
            try await world.waitFor(id, status: "COMPLETED")
            let again = try await world.post("/api/jobs/hello/start", #"{"who":"twice"}"#)
            #expect(again.status == 409)
            #expect(again.error.contains("already completed"))
            let restart = try await world.post("/api/executions/\(id)/restart")
            #expect(restart.status == 409)
            #expect(try await world.post("/api/executions/\(id)/abandon").status == 409)
            // Unknown routes are 404, other methods on known ones too.
            #expect(try await world.get("/api/nothing").status == 404)
            // CORS is off: another origin's page gets no permission to read the answers.
            for method in ["GET", "OPTIONS"] {
                let crossOrigin = try await world.send(
                    method, "/api/jobs", "", headers: ["Origin": "http://evil.example"])
                #expect(crossOrigin.headers.keys.allSatisfy { !$0.hasPrefix("access-control-") })
            }
            // Bytes that are not UTF-8 are refused by the parser.
            let notUTF8 = try await RawHTTP.request(
                port: world.port, method: "POST", path: "/api/jobs/hello/start",
                body: Array(#"{"who":""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8))
            #expect(notUTF8.status == 400)
            #expect(notUTF8.error.contains("UTF-8"))
        }
    }

    @Test func stopRestartAndAbandonGoToTheWorkers() async throws {
        try await ServerWorld.with { world in
            let parameters = #"{"items":100000,"delayMs":20,"chunkSize":5}"#
            let id = try await world.start("count", parameters)
            try await world.waitFor(id, status: "STARTED")
            // 409: a start of a running instance.
            let running = try await world.post("/api/jobs/count/start", parameters)
            #expect(running.status == 409)
            #expect(running.error.contains("already running"))
            let stop = try await world.post("/api/executions/\(id)/stop")
            #expect(stop.status == 202)
            #expect(try stop.json.objectValue?["executionId"]?.intValue == id)
            try await world.waitFor(id, status: "STOPPED")
            let restart = try await world.post("/api/executions/\(id)/restart")
            #expect(restart.status == 202)
            let second = try #require(try restart.json.objectValue?["executionId"]?.intValue)
            #expect(second != id)
            try await world.waitFor(second, status: "STARTED")
            #expect(try await world.post("/api/executions/\(second)/restart").status == 409)
            #expect(try await world.post("/api/executions/\(second)/stop").status == 202)
            try await world.waitFor(second, status: "STOPPED")
            #expect(try await world.post("/api/executions/\(second)/abandon").status == 202)
            try await world.waitFor(second, status: "ABANDONED")
            #expect(try await world.post("/api/executions/\(second)/restart").status == 409)
        }
    }

    @Test func withATokenEveryAPIRequestNeedsIt() async throws {
        let token = "t0k-" + UUID().uuidString
        try await ServerWorld.with(token: token, workers: 0) { world in
            for path in ["/api/jobs", "/api/executions", "/api/workers", "/openapi.json", "/api/events"] {
                let none = try await world.get(path, headers: [:])
                #expect(none.status == 401, "\(path) without a token: \(none.status)")
                #expect(none.headers["www-authenticate"] == "Bearer")
                // No site may frame any of it, refusals included.
                #expect(none.headers["x-frame-options"] == "DENY", "\(path): \(none.headers)")
                #expect(none.headers["content-security-policy"] == "frame-ancestors 'none'", "\(path)")
                #expect(try await world.get(path, headers: ["Authorization": "Bearer wrong"]).status == 401)
                #expect(try await world.get(path, headers: ["Authorization": "Bearer \(token)x"]).status == 401)
                #expect(try await world.get(path, headers: ["Authorization": "Basic \(token)"]).status == 401)
            }
            #expect(try await world.post("/api/jobs/hello/start", "{}", headers: [:]).status == 401)
            // However the path is spelled: the router skips empty segments and decodes escapes.
            for path in ["//api/jobs/hello/start", "/api//jobs/hello/start", "/%61pi/jobs/hello/start"] {
                #expect(try await world.post(path, "{}", headers: [:]).status == 401, "\(path)")
            }
            #expect(try await world.get("//openapi.json", headers: [:]).status == 401)
            #expect(try await world.get("/api/jobs").status == 200)
            // Only the header counts: a cookie travels with requests other sites make the browser send.
            #expect(
                try await world.get("/api/jobs", headers: ["Cookie": "a=b; swiftbatch_token=\(token)"]).status == 401)
            // The dashboard's files hold no data and load without it.
            let dashboard = try await world.get("/", headers: [:])
            #expect(dashboard.status == 200 && dashboard.headers["x-frame-options"] == "DENY")
            #expect(try await world.get("/js/main.js", headers: [:]).status == 200)
            #expect(try await world.get("/app.css", headers: [:]).status == 200)
            // Nothing was started by the refused start, and the token is nowhere in the server's log.
            #expect(try await world.repository.jobExecutions(jobName: nil, limit: 10).isEmpty)
            #expect(!world.server.output.contains(token))
        }
    }

    @Test("a cross-site request that changes something is refused; a same-site or non-browser one passes")
    func crossSiteRequestsAreRefused() async throws {
        try await ServerWorld.with(workers: 0) { world in
            let evil = try await world.post(
                "/api/executions/1/abandon", "",
                headers: ["Origin": "http://evil.example", "Content-Type": "text/plain"])
            #expect(evil.status == 403)
            let same = try await world.post(
                "/api/executions/1/abandon", "", headers: ["Origin": "http://127.0.0.1:\(world.port)"])
            #expect(same.status == 404, "passes the check: no such execution")
            #expect(try await world.post("/api/executions/1/abandon", "", headers: [:]).status == 404)
            // Reading is not refused by Origin (the browser keeps the answer from the page).
            #expect(try await world.get("/api/jobs", headers: ["Origin": "http://evil.example"]).status == 200)
            #expect(try await world.repository.jobExecutions(jobName: nil, limit: 10).isEmpty)
        }
    }

    @Test("without a token only requests to an IP address or localhost are answered (DNS rebinding); with one, any")
    func withoutATokenOnlyAddressesAreAnswered() async throws {
        try await ServerWorld.with(workers: 0) { world in
            func status(_ path: String, host: String) async throws -> Int {
                try await world.get(path, headers: ["Host": host]).status
            }
            let port = world.port
            let rebound = try await status("/api/jobs", host: "rebound.example:\(port)")
            let local = try await status("/api/jobs", host: "localhost:\(port)")
            let loopback6 = try await status("/api/jobs", host: "[::1]:\(port)")
            let page = try await status("/", host: "rebound.example")
            #expect(rebound == 403)
            #expect(local == 200)
            #expect(loopback6 == 200)
            #expect(page == 200, "the page itself")
        }
        let token = "t0k-" + UUID().uuidString
        try await ServerWorld.with(token: token, workers: 0) { world in
            let answer = try await world.get(
                "/api/jobs", headers: ["Host": "batch.example", "Authorization": "Bearer \(token)"])
            #expect(answer.status == 200)
        }
    }

    @Test func executionsArePagedByIdAndFiltered() async throws {
        try await ServerWorld.with(workers: 0) { world in
            // 60 hello executions (every third FAILED) and 15 count executions, written straight to the tables.
            try await world.repository.pool.withConnection { connection in
                for (job, count) in [("hello", 60), ("count", 15)] {
                    try await connection.query(
                        """
                        WITH instances AS (
                            INSERT INTO \(world.name).job_instances (job_name, job_key)
                            SELECT $1, $1 || g FROM generate_series(1, $2::int) g RETURNING id, job_name)
                        INSERT INTO \(world.name).job_executions (instance_id, job_name, status)
                        SELECT id, job_name, CASE WHEN id % 3 = 0 THEN 'FAILED' ELSE 'COMPLETED' END
                          FROM instances ORDER BY id
                        """, [.text(job), .int(count)])
                }
            }
            func all(_ query: String) async throws -> [Int64] {
                var ids: [Int64] = []
                var before: Int64?
                for _ in 0..<100 {
                    let page =
                        try await world.get(
                            "/api/executions?limit=7\(query)" + (before.map { "&before=\($0)" } ?? "")
                        ).json.objectValue ?? [:]
                    let rows = page["executions"]?.arrayValue ?? []
                    #expect(rows.count <= 7)
                    ids += rows.compactMap { $0.objectValue?["id"]?.intValue }
                    guard let next = page["nextBefore"]?.intValue else { return ids }
                    #expect(next == ids.last)
                    before = next
                }
                return ids
            }
            let everything = try await all("")
            #expect(everything.count == 75)
            #expect(everything == everything.sorted(by: >))
            #expect(Set(everything).count == 75)
            let hello = try await all("&job=hello")
            #expect(hello.count == 60)
            let failedHello = try await all("&job=hello&status=FAILED")
            #expect(failedHello.count == 20)
            #expect(Set(failedHello).isSubset(of: Set(hello)))
            #expect(try await all("&status=FAILED").count == 25)
            #expect(try await all("&job=nope").isEmpty)
            // `before` alone: strictly older than the id given.
            let older = try await world.get("/api/executions?before=\(everything[10])&limit=500").json
            #expect(older.objectValue?["executions"]?.arrayValue?.first?.objectValue?["id"]?.intValue == everything[11])
        }
    }

    @Test func noWorkerAnsweringIsA504() async throws {
        try await ServerWorld.with(workers: 0, serverArguments: ["--timeout", "1"]) { world in
            let answer = try await world.post("/api/jobs/hello/start", #"{"who":"nobody"}"#)
            #expect(answer.status == 504)
            #expect(answer.error.contains("no worker answered"))
        }
    }

    @Test func schedulesCanBeManagedOverHTTP() async throws {
        try await ServerWorld.with { world in
            let add = #"{"name":"every-hour","job":"hello","cron":"0 * * * *","params":{"who":"{{date}}"}}"#
            let added = try await world.post("/api/schedules", add)
            #expect(added.status == 201, "\(added.text)")
            #expect(try added.json.objectValue?["nextFireTime"]?.stringValue != nil)
            #expect(try await world.post("/api/schedules", add).status == 409)
            // Adds of one new name at once: one is created, every other is a conflict (the insert decides).
            let racing = #"{"name":"racing","job":"hello","cron":"0 * * * *"}"#
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 { group.addTask { try await world.post("/api/schedules", racing).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.sorted() == [201] + Array(repeating: 409, count: 7), "\(statuses)")
            #expect(
                try await world.post("/api/schedules", #"{"name":"x","job":"hello","cron":"61 * * * *"}"#).status == 400
            )
            #expect(
                try await world.post("/api/schedules", #"{"name":"x","job":"nope","cron":"* * * * *"}"#).status == 404)
            #expect(
                try await world.post("/api/schedules", #"{"name":"a b","job":"hello","cron":"* * * * *"}"#).status
                    == 400)
            let paused = try await world.post("/api/schedules/every-hour/pause")
            #expect(try paused.json.objectValue?["paused"]?.boolValue == true)
            let resumed = try await world.post("/api/schedules/every-hour/resume")
            #expect(try resumed.json.objectValue?["paused"]?.boolValue == false)
            let again = try await world.post("/api/schedules/every-hour/resume")
            #expect(again.status == 409 && again.text.contains("is not paused"), "\(again.text)")
            let triggered = try await world.post("/api/schedules/every-hour/trigger")
            #expect(triggered.status == 202)
            #expect(try triggered.json.objectValue?["sent"]?.boolValue == true)
            try await eventually("the triggered start ran", timeout: .seconds(30), every: .milliseconds(100)) {
                try await world.repository.jobExecutions(jobName: "hello", limit: 1).first?.status == .completed
            }
            let listed = try await world.get("/api/schedules").json.objectValue?["schedules"]?.arrayValue ?? []
            #expect(listed.first?.objectValue?["lastExecutionId"]?.intValue != nil)
            #expect(try await world.delete("/api/schedules/every-hour").status == 204)
            #expect(try await world.delete("/api/schedules/every-hour").status == 404)
            #expect(try await world.post("/api/schedules/every-hour/pause").status == 404)
        }
    }

    @Test func deadLettersAreListedWithTheirReasons() async throws {
        try await ServerWorld.with { world in
            try await world.messaging.connection.publish(
                AMQPMessage(
                    text: #"{"command":"start","job":"no-such-job"}"#,
                    properties: AMQPProperties(contentType: "application/json")),
                exchange: "", routingKey: world.messaging.topology.commandsQueue)
            var letters: [JSONValue] = []
            try await eventually("the bad command is dead-lettered", timeout: .seconds(30), every: .milliseconds(100)) {
                letters = try await world.get("/api/dead-letters").json.objectValue?["deadLetters"]?.arrayValue ?? []
                return !letters.isEmpty
            }
            let letter = try #require(letters.first?.objectValue)
            #expect(letter["reason"]?.stringValue?.contains("no-such-job") == true)
            #expect(letter["body"]?.stringValue?.contains("no-such-job") == true)
            #expect(try await world.post("/api/dead-letters/not-an-id/requeue").status == 404)
            let id = try #require(letter["id"]?.stringValue)
            #expect(try await world.post("/api/dead-letters/\(id)/requeue").status == 200)
        }
    }
}
