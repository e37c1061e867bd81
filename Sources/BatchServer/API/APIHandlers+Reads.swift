import Batch
import BatchPostgres
import Hummingbird

extension APIHandlers {
    /// `GET /api/jobs`.
    func jobs(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let jobs = try registry.names.map { RecordJSON.job(try registry.job(named: $0)) }
        return APIResponse.json(["jobs": .array(jobs)])
    }

    /// The largest page of `GET /api/executions`.
    static let maximumPage: Int64 = 500

    /// `GET /api/executions?job=&status=&limit=&before=`: a page, newest first.
    func executions(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let job = try APIQuery.text(request, "job")
        let status = try APIQuery.text(request, "status").map { text in
            guard let status = BatchStatus(rawValue: text) else {
                throw APIError(
                    .badRequest,
                    "status must be one of \(BatchStatus.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text.prefix(100))'"
                )
            }
            return status
        }
        let limit = try APIQuery.integer(request, "limit", in: 1...Self.maximumPage) ?? 50
        let before = try APIQuery.integer(request, "before", in: 1...Int64.max)
        // One row more than asked says whether an older page exists.
        let rows = try await repository.jobExecutions(
            jobName: job, status: status, before: before, limit: Int(limit) + 1)
        let page = rows.prefix(Int(limit))
        let nextBefore: JSONValue = rows.count > page.count ? page.last.map { .int($0.id) } ?? .null : .null
        return APIResponse.json(["executions": .array(page.map(RecordJSON.execution)), "nextBefore": nextBefore])
    }

    /// `GET /api/executions/{id}`: with its steps, partitions, counters and exit messages.
    func execution(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try APIQuery.executionId(context)
        let detail = try await JobOperator(registry: registry, repository: repository).execution(id)
        let firing = try await PostgresScheduleStore(repository: repository).firing(
            jobName: detail.instance.jobName, jobKey: detail.instance.jobKey)
        return APIResponse.json(RecordJSON.detail(detail, firing: firing))
    }

    /// `GET /api/workers`.
    func workers(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let workers = try await repository.workerStatuses()
        return APIResponse.json(["workers": .array(workers.map(RecordJSON.worker))])
    }
}
