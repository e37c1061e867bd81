import Batch
import Foundation

extension PostgresJobRepository {
    /// The job execution columns, in the order every query selects them.
    static let jobExecutionColumns =
        "id, instance_id, job_name, status, create_time, start_time, end_time, last_updated, exit_code, "
        + "exit_message, version, worker_id, parameters, context"

    /// `columns` (a comma-separated list) each qualified by `alias`, for a statement joining another table.
    /// Statements are prepared, so they name their columns: a `*` would change its result when a migration adds a
    /// column, and the server refuses a prepared statement whose result changed.
    static func qualified(_ columns: String, by alias: String) -> String {
        columns.split(separator: ",").map { "\(alias).\($0.drop { $0 == " " })" }.joined(separator: ", ")
    }

    /// The step execution columns, in the order every query selects them.
    static let stepExecutionColumns =
        "id, job_execution_id, step_name, status, read_count, write_count, filter_count, commit_count, "
        + "rollback_count, read_skip_count, process_skip_count, write_skip_count, start_time, end_time, "
        + "last_updated, exit_code, exit_message, version, context, worker_id, attempt"

    /// The job instance columns.
    static let jobInstanceColumns = "id, job_name, job_key, parameters, create_time"

    static func jobInstance(from row: PostgresRow) throws -> JobInstance {
        JobInstance(
            id: try row.decode("id"), jobName: try row.decode("job_name"), jobKey: try row.decode("job_key"),
            parameters: try JobParameters(jsonValue: row.decode("parameters")),
            createTime: try row.decode("create_time"))
    }

    static func jobExecution(from row: PostgresRow) throws -> JobExecution {
        JobExecution(
            id: try row.decode("id"), instanceId: try row.decode("instance_id"), jobName: try row.decode("job_name"),
            parameters: try JobParameters(jsonValue: row.decode("parameters")), status: try status(row),
            exitCode: try row.decode("exit_code"), exitMessage: try row.decode("exit_message"),
            createTime: try row.decode("create_time"), startTime: try row.decode("start_time"),
            endTime: try row.decode("end_time"), lastUpdated: try row.decode("last_updated"),
            version: try row.decode("version"), workerId: try row.decode("worker_id"), context: try context(row))
    }

    static func stepExecution(from row: PostgresRow) throws -> StepExecution {
        StepExecution(
            id: try row.decode("id"), jobExecutionId: try row.decode("job_execution_id"),
            stepName: try row.decode("step_name"), status: try status(row),
            counters: StepCounters(
                read: try row.decode("read_count"), write: try row.decode("write_count"),
                filter: try row.decode("filter_count"), commit: try row.decode("commit_count"),
                rollback: try row.decode("rollback_count"), readSkip: try row.decode("read_skip_count"),
                processSkip: try row.decode("process_skip_count"), writeSkip: try row.decode("write_skip_count")),
            exitCode: try row.decode("exit_code"), exitMessage: try row.decode("exit_message"),
            startTime: try row.decode("start_time"), endTime: try row.decode("end_time"),
            lastUpdated: try row.decode("last_updated"), version: try row.decode("version"), context: try context(row),
            workerId: try row.decode("worker_id"), attempt: try row.decode("attempt"))
    }

    private static func status(_ row: PostgresRow) throws -> BatchStatus {
        let text = try row.decode("status", as: String.self)
        guard let status = BatchStatus(rawValue: text) else {
            throw PostgresError(.decoding, "unknown status '\(text)' in the database")
        }
        return status
    }

    private static func context(_ row: PostgresRow) throws -> ExecutionContext {
        let value = try row.decode("context", as: JSONValue.self)
        guard let members = value.objectValue else {
            throw PostgresError(.decoding, "an execution context must be a JSON object, found \(value.typeName)")
        }
        return ExecutionContext(members)
    }

    /// The parameters of a step execution update or insert, `$first` onwards: status, the eight counters, start and
    /// end time, exit code and message, context.
    static func stepValues(_ step: StepExecution) -> [PostgresValue?] {
        let counters = step.counters
        return [
            .text(step.status.rawValue), .int(counters.read), .int(counters.write), .int(counters.filter),
            .int(counters.commit), .int(counters.rollback), .int(counters.readSkip), .int(counters.processSkip),
            .int(counters.writeSkip), .timestamp(step.startTime), step.endTime.map { .timestamp($0) },
            .text(step.exitCode.storableInPostgres), .text(step.exitMessage.storableInPostgres),
            .json(step.context.jsonValue.storableInPostgres),
        ]
    }
}
