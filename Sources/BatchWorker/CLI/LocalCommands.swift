import ArgumentParser
import Batch
import BatchPostgres
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

struct ExecutionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "executions", abstract: "List job executions, newest first (from the database).")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Only this job's executions.")
    var job: String?

    @Option(parsing: .unconditional, help: "At most this many (1 to 10000).")
    var limit: Int = 20

    @Flag(help: "Print JSON, for scripts.")
    var json = false

    func validate() throws {
        try CLIValidation.integer(limit, "--limit", in: 1...10_000)
    }

    func run() async throws {
        let logger = try connection.logger()
        let executions = try await connection.withRepository(logger) { repository in
            try await repository.jobExecutions(jobName: job, limit: limit)
        }
        print(json ? try ExecutionFormatter.json(executions) : ExecutionFormatter.executions(executions))
    }
}

struct ExecutionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "execution", abstract: "Show one execution: its status, steps, counters and exit messages.")

    @OptionGroup var connection: ConnectionOptions

    // Parsed as "all unrecognized" so that `-5` reaches validate() instead of being taken for an option.
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The execution id (a positive integer).", valueName: "id"))
    var ids: [String] = []

    @Flag(help: "Print JSON, for scripts.")
    var json = false

    @Flag(
        help: """
            Follow the execution until it ends: status changes and live progress (exit 0 when it COMPLETED), then show it.
            """)
    var follow = false

    /// The execution id given.
    var id: Int64 {
        get throws { try CLIValidation.executionId(CLIValidation.single(ids, "execution id")) }
    }

    func validate() throws {
        _ = try id
    }

    func run() async throws {
        let id = try self.id
        let logger = try connection.logger()
        var ended: ExitCode?
        if follow {
            do {
                try await RemoteSession.with(connection, logger: logger, follow: true) { try await $0.follow(id) }
            } catch let exit as ExitCode {
                ended = exit  // it ended but did not complete: shown below, then exit 1
            }
        }
        let registry = try SwiftBatch.registry
        let (detail, totals, firing) = try await connection.withRepository(logger) { repository in
            let jobOperator = JobOperator(registry: registry, repository: repository)
            let detail = try await jobOperator.execution(id)
            let firing = try await PostgresScheduleStore(repository: repository).firing(
                jobName: detail.instance.jobName, jobKey: detail.instance.jobKey)
            return (detail, try await jobOperator.instanceTotals(instanceId: detail.instance.id), firing)
        }
        print(
            json
                ? try ExecutionFormatter.json(detail, totals: totals, firing: firing)
                : ExecutionFormatter.detail(detail, totals: totals, firing: firing))
        if let ended { throw ended }
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
        // Recorded like a worker, with heartbeats: if this process dies, the lost-worker sweep fails the execution
        // (so it can be restarted) instead of leaving it STARTED.
        let workerId = postgres.map { _ in "run-" + WorkerConfiguration.defaultWorkerId() }
        let repository: any JobRepository = postgres ?? InMemoryJobRepository()
        let jobOperator = JobOperator(registry: registry, repository: repository, workerId: workerId, logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let postgres, let workerId {
            let defaults = WorkerConfiguration(workerId: workerId)
            do {
                try await postgres.migrate()
                try await postgres.register(
                    workerId: workerId, token: defaults.token, host: ProcessInfo.processInfo.hostName,
                    pid: Int(ProcessInfo.processInfo.processIdentifier), capacity: nil, lease: defaults.lease)
            } catch {
                await postgres.shutdown()
                throw error
            }
            // The worker's heartbeat and lease service; without workers nobody else may be sweeping, so it also
            // fails what lost processes left running.
            services.append(
                .init(
                    service: HeartbeatService(
                        registry: postgres, workerId: workerId, token: defaults.token,
                        interval: defaults.heartbeatInterval,
                        lease: defaults.lease, running: { Set(jobOperator.runningExecutionIds) }, logger: logger),
                    successTerminationBehavior: .ignore, serviceName: "heartbeat"))
        }
        let (target, isRestart, json) = (job, restart, params)
        let run = RunJobService(jobOperator: jobOperator) {
            isRestart
                ? try await jobOperator.restartAsync(CLIValidation.target(target))
                : try await jobOperator.startAsync(target, parameters: JobParameters(json: json))
        }
        services.append(.init(service: run, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "job"))
        // SIGINT or SIGTERM asks the job to stop at its next chunk boundary: it ends STOPPED, restartable. A second
        // one ends the process at once (exit 130), the execution FAILED.
        let interrupts = Task {
            await Self.exitOnSecondSignal {
                await Self.failInterrupted(postgres, workerId: workerId, logger)
            }
        }
        let detail: JobExecutionDetail
        do {
            try await ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            ).run()
            interrupts.cancel()
            detail = try await jobOperator.execution(try run.outcome.id)
        } catch {
            interrupts.cancel()
            await jobOperator.closeResources()
            await postgres?.shutdown()
            throw error
        }
        await jobOperator.closeResources()
        await postgres?.shutdown()
        print(ExecutionFormatter.detail(detail))
        if detail.execution.status != .completed { throw ExitCode(1) }
    }
}

extension RunCommand {
    /// Waits for SIGINT or SIGTERM (trapped from the start, beside the service group's first-signal handling): at
    /// the second, runs `interrupted` and exits 130. A job that does not reach its stop (a long chunk, a tasklet that
    /// never looks) must not leave Ctrl-C powerless.
    static func exitOnSecondSignal(_ interrupted: @Sendable () async -> Void) async {
        var seen = 0
        for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) {
            seen += 1
            guard seen >= 2, !Task.isCancelled else { continue }
            await interrupted()
            Foundation.exit(130)
        }
    }

    /// Marks the executions `run` holds FAILED (restartable) if the database answers within a second, and says what
    /// became of them.
    static func failInterrupted(_ postgres: PostgresJobRepository?, workerId: String?, _ logger: Logger) async {
        guard let postgres, let workerId else {
            logger.warning("interrupted before the job stopped; nothing was stored (--in-memory)")
            return
        }
        let marked = await postgres.failRunningExecutions(
            workerId: workerId, message: "interrupted: a second signal ended `run` before the job stopped",
            within: .seconds(1), logger: logger)
        if let marked {
            logger.warning(
                "interrupted before the job stopped; marked FAILED, restartable",
                metadata: ["executions": "\(marked.map(\.id))"])
        }
    }
}

/// Runs one job in this process and waits for it to end; a graceful shutdown (SIGINT, SIGTERM) asks it to stop at
/// its next chunk boundary, so that it ends STOPPED and restartable.
final class RunJobService: Service {
    private let jobOperator: JobOperator
    private let start: @Sendable () async throws -> Int64
    private let result = Mutex<Result<JobExecution, any Error>?>(nil)
    private let stopRequested = ShutdownFlag()

    /// - Parameter start: starts (or restarts) the execution and returns its id.
    init(jobOperator: JobOperator, start: @escaping @Sendable () async throws -> Int64) {
        self.jobOperator = jobOperator
        self.start = start
    }

    /// The ended execution, or what starting it threw.
    var outcome: JobExecution {
        get throws {
            guard let result = result.withLock({ $0 }) else {
                throw BatchError(.invalidState, "the job was not run")
            }
            return try result.get()
        }
    }

    func run() async {
        let jobOperator = jobOperator
        let stopRequested = stopRequested
        await withGracefulShutdownHandler {
            let outcome: Result<JobExecution, any Error>
            do {
                let id = try await start()
                // A signal that came while the job was being started found nothing to stop yet.
                if stopRequested.isRequested { _ = try? await jobOperator.stop(.executionId(id)) }
                outcome = .success(try await jobOperator.wait(for: id))
            } catch {
                outcome = .failure(error)
            }
            result.withLock { $0 = outcome }
        } onGracefulShutdown: {
            stopRequested.request()
            Task {
                for id in jobOperator.runningExecutionIds { _ = try? await jobOperator.stop(.executionId(id)) }
            }
        }
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Create or upgrade the database schema (safe to run many times at once).")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let logger = try connection.logger()
        let (applied, schema) = try await connection.withRepository(logger) { repository in
            (try await repository.migrate(), repository.schema)
        }
        print(applied.isEmpty ? "schema '\(schema)' is up to date" : "applied migrations \(applied)")
    }
}

struct JobsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "List the jobs this program can run.")

    func run() throws {
        for name in try SwiftBatch.registry.names { print(name) }
    }
}
