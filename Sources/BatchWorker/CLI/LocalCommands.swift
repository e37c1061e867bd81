import ArgumentParser
import Batch
import BatchPostgres
import Foundation
import Logging

struct ExecutionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "executions", abstract: "List job executions, newest first (from the database).")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Only this job's executions.")
    var job: String?

    @Option(help: "At most this many.")
    var limit: Int = 20

    @Flag(help: "Print JSON, for scripts.")
    var json = false

    func run() async throws {
        let logger = try connection.logger()
        let repository = try connection.repository(logger)
        let executions = try await repository.jobExecutions(jobName: job, limit: limit)
        await repository.shutdown()
        print(json ? try ExecutionFormatter.json(executions) : ExecutionFormatter.executions(executions))
    }
}

struct ExecutionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "execution", abstract: "Show one execution: its status, steps, counters and exit messages.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The execution id.")
    var id: Int64

    @Flag(help: "Print JSON, for scripts.")
    var json = false

    func run() async throws {
        let logger = try connection.logger()
        let repository = try connection.repository(logger)
        defer { Task { await repository.shutdown() } }
        let detail = try await JobOperator(registry: SwiftBatch.registry, repository: repository).execution(id)
        print(json ? try ExecutionFormatter.json(detail) : ExecutionFormatter.detail(detail))
    }
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a job in this process, without a broker, and wait for it.",
        discussion: """
            Persists in PostgreSQL like a worker (restartable with `run --restart`), or with --in-memory keeps \
            everything in this process (jobs that write to PostgreSQL need the database). Exits 0 when the \
            execution COMPLETED, 1 otherwise.
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The job's name (with --restart: a job name or an execution id).")
    var job: String

    @Option(help: "Job parameters: a JSON object (or a JSON string holding one).")
    var params: String = "{}"

    @Flag(help: "Restart the job's (or the execution's) last STOPPED or FAILED execution instead of starting.")
    var restart = false

    @Flag(help: "Keep executions in memory instead of PostgreSQL.")
    var inMemory = false

    func run() async throws {
        let logger = try connection.logger(defaultLevel: .info)
        let registry = try SwiftBatch.registry
        let postgres = inMemory ? nil : try connection.repository(logger)
        if let postgres { try await postgres.migrate() }
        let repository: any JobRepository = postgres ?? InMemoryJobRepository()
        let jobOperator = JobOperator(registry: registry, repository: repository, logger: logger)
        let execution =
            restart
            ? try await jobOperator.restart(JobReference(parsing: job))
            : try await jobOperator.start(job, parameters: JobParameters(json: params))
        print(ExecutionFormatter.detail(try await jobOperator.execution(execution.id)))
        await postgres?.shutdown()
        if execution.status != .completed { throw ExitCode(1) }
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Create or upgrade the database schema (safe to run many times at once).")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let logger = try connection.logger()
        let repository = try connection.repository(logger)
        let applied = try await repository.migrate()
        await repository.shutdown()
        print(applied.isEmpty ? "schema '\(repository.schema)' is up to date" : "applied migrations \(applied)")
    }
}

struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "List the jobs this program can run.")

    func run() throws {
        for name in try SwiftBatch.registry.names { print(name) }
    }
}
