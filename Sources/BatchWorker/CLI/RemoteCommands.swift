import ArgumentParser
import Batch
import BatchPostgres
import BatchRabbitMQ
import Foundation
import Logging
import Synchronization

/// The help of `--timeout` on the commands a worker must accept.
private let acceptTimeoutHelp =
    "Seconds to wait for a worker to accept the command (it stays queued after that: a worker that comes up later "
    + "still runs it)."

struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Ask a worker to start a job (over RabbitMQ).",
        discussion: """
            Prints the execution id once a worker has stored the execution. With --wait, follows it: status changes \
            and read / write counts as they happen; exits 0 when it COMPLETED and 1 otherwise.
            Example: \(SwiftBatch.commandName) start daily-accounting --params '{"date":"2026-11-25"}' --wait
            """)

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The job's name.")
    var job: String

    @Option(help: "Job parameters: a JSON object (or a JSON string holding one).")
    var params: String = "{}"

    @Flag(help: "Wait for the execution to end, showing its progress.")
    var wait = false

    @Option(parsing: .unconditional, help: ArgumentHelp(acceptTimeoutHelp))
    var timeout: Double = 30

    func validate() throws {
        try CLIValidation.seconds(timeout, "--timeout")
    }

    func run() async throws {
        let logger = try connection.logger()
        // Everything a worker would refuse for good is refused here, before anything is published.
        let parameters = try JobParameters(json: params)
        let job = try SwiftBatch.registry.job(named: job)
        try job.validate(parameters)
        try await RemoteSession.with(connection, logger: logger, follow: wait) { remote in
            let id = try await remote.send(.start(job.name, parameters: parameters.values), timeout: timeout)
            print("started execution \(id) of job '\(job.name)'")
            if wait { try await remote.follow(id) }
        }
    }
}

struct RestartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Ask a worker to restart a STOPPED or FAILED execution (over RabbitMQ).",
        discussion: """
            By job name: the last execution of its most recent instance. By execution id: that execution's instance \
            and its last execution. The new execution skips completed steps and resumes the others where they \
            stopped. With --wait, follows it and exits 0 only when it COMPLETED.
            """)

    @OptionGroup var options: TargetOptions

    @Flag(help: "Wait for the execution to end, showing its progress.")
    var wait = false

    func run() async throws {
        try await options.send(.restart, follow: wait) { "restarted as execution \($0)" }
    }
}

struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop a running execution: it ends STOPPED at its next chunk boundary, restartable.",
        discussion: """
            By job name: the last execution of its most recent instance, if STARTING or STARTED. By execution id: \
            that execution; no error if it has already ended.
            """)

    @OptionGroup var options: TargetOptions

    func run() async throws {
        // Every worker hears it at once over the control exchange (even one too busy to take commands from the
        // queue), and one worker records it and answers.
        try await options.send(.stop, broadcast: true) { "stop requested for execution \($0)" }
    }
}

struct AbandonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abandon",
        abstract: "Mark a STOPPED, FAILED or UNKNOWN execution ABANDONED: its instance never runs again.")

    @OptionGroup var options: TargetOptions

    func run() async throws {
        try await options.send(.abandon) { "execution \($0) abandoned" }
    }
}

/// What `restart`, `stop` and `abandon` act on, and how long they wait for a worker.
struct TargetOptions: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions

    // Parsed as "all unrecognized" so that `-5` reaches validate() instead of being taken for an option.
    @Argument(
        parsing: .allUnrecognized,
        help: ArgumentHelp(
            "A job name (its most recent instance's last execution) or an execution id (a positive integer).",
            valueName: "target"))
    var targets: [String] = []

    @Option(parsing: .unconditional, help: ArgumentHelp(acceptTimeoutHelp))
    var timeout: Double = 30

    /// The job or execution named on the command line.
    var target: JobReference {
        get throws { try CLIValidation.target(CLIValidation.single(targets, "job name or execution id")) }
    }

    func validate() throws {
        _ = try target
        try CLIValidation.seconds(timeout, "--timeout")
    }

    /// Sends `action` on the target (also over the control exchange with `broadcast`), prints the answer, and
    /// follows the execution with `follow`.
    func send(
        _ action: Command.Action, broadcast: Bool = false, follow: Bool = false, _ message: (Int64) -> String
    ) async throws {
        let logger = try connection.logger()
        var target = try self.target
        if action != .abandon, case .name(let name) = target, let registry = try? SwiftBatch.registry {
            // A mistyped name is refused here, not dead-lettered by a worker; an abandon may name a job this build
            // no longer has.
            do {
                _ = try registry.job(named: name)
            } catch let error as BatchError {
                throw BatchError(
                    error.code, error.message + "; an execution id works for the executions of any job")
            }
        }
        if action == .stop, case .name(let name) = target, let id = await runningExecutionId(of: name, logger) {
            // A stop by name goes out by id: the broadcast copy may stop the execution before the queued copy is
            // taken, and a by-name stop of an execution already STOPPING or STOPPED is refused ("not running"),
            // while a by-id stop returns it unchanged — so a stop that worked never reports an error.
            target = .executionId(id)
        }
        let command = RemoteSession.command(action, target)
        try await RemoteSession.with(connection, logger: logger, follow: follow) { remote in
            if broadcast { try await remote.messaging.broadcast(command) }
            let id = try await remote.send(command, timeout: timeout)
            print(message(id))
            if follow { try await remote.follow(id) }
        }
    }
}

extension TargetOptions {
    /// The id of the job's running execution (its most recent instance's last one, if STARTING, STARTED or
    /// STOPPING), read from the database; nil when nothing runs or the database cannot say (the command then goes
    /// by name, and the worker decides).
    ///
    /// A quick look: one connection attempt of at most two seconds, the whole lookup at most three. A stop must not
    /// wait for the pool's reconnect policy on a database that is away.
    func runningExecutionId(of job: String, _ logger: Logger) async -> Int64? {
        guard let registry = try? SwiftBatch.registry else { return nil }
        let connection = connection
        let last = await Deadline.run(until: .now + .seconds(3)) {
            try? await connection.withRepository(
                logger,
                adjusting: {
                    $0.reconnect.maxAttempts = 1
                    $0.connectTimeout = .seconds(2)
                    $0.pool.size = 1
                }
            ) { repository in
                try await JobOperator(registry: registry, repository: repository).lastExecution(of: .name(job))
            }
        }
        guard let last = last ?? nil, last.status.isRunning else { return nil }
        return last.id
    }
}

/// A CLI's conversation with the workers: commands with replies, and (for --wait) the events and the database.
struct RemoteSession {
    let messaging: BatchMessaging
    let events: EventStream?
    /// Running steps' progress reports (`progress.#`), when following.
    var progress: ProgressStream?
    let connection: ConnectionOptions
    let logger: Logger

    /// Runs `body` with a session and closes the broker connection before returning or throwing.
    /// - Parameter follow: subscribe to the events first (before anything is sent, so none is missed).
    static func with<Result>(
        _ connection: ConnectionOptions, logger: Logger, follow: Bool, _ body: (RemoteSession) async throws -> Result
    ) async throws -> Result {
        try await connection.withMessaging(logger) { messaging in
            // What every worker declares: before the first worker ever ran, a command still has a queue to wait in.
            try await messaging.declareTopology()
            let events = follow ? try await messaging.events(matching: "job.#") : nil
            let progress = follow ? try await messaging.progress(matching: "progress.#") : nil
            return try await body(
                RemoteSession(
                    messaging: messaging, events: events, progress: progress, connection: connection, logger: logger))
        }
    }

    /// The command for `action` on a target.
    static func command(_ action: Command.Action, _ target: JobReference) -> Command {
        switch target {
        case .name(let name): Command(action: action, target: .job(name))
        case .executionId(let id): Command(action: action, target: .execution(id))
        }
    }

    /// Sends a command and waits for a worker's answer.
    /// - Returns: the execution id the worker names.
    /// - Throws: `ExitCode(1)` after printing a refusal.
    func send(_ command: Command, timeout: Double) async throws -> Int64 {
        let reply: Reply
        do {
            reply = try await messaging.request(command, timeout: .seconds(timeout))
        } catch let error as AMQPError where error.code == .timeout {
            throw CLIError(
                "no worker answered within \(Int(timeout)) s; is `\(SwiftBatch.commandName) worker` running? "
                    + "The command stays queued: a worker that comes up later still runs it.")
        }
        switch reply {
        case .accepted(let id?):
            return id
        case .accepted(nil):
            throw CLIError("the worker accepted the command but named no execution")
        case .refused(let message):
            throw CLIError("refused: \(message)")
        }
    }

    /// Follows an execution to its end: events for status changes, the database for counts (and as the truth
    /// should an event be missed).
    func follow(_ executionId: Int64) async throws {
        try await connection.withRepository(logger) { repository in
            try await follow(executionId, in: repository)
        }
    }

    private func follow(_ executionId: Int64, in repository: PostgresJobRepository) async throws {
        let wakeup = Wakeup()
        let listener = Task {
            guard let events else { return }
            for try await event in events where event.executionId == executionId {
                wakeup.signal()
            }
        }
        defer { listener.cancel() }
        let display = ProgressLine()
        let progressListener = Task { [progress] in
            guard let progress else { return }
            for try await report in progress where report.executionId == executionId { display.progress(report) }
        }
        defer { progressListener.cancel() }
        var lastLine = ""
        var lastStatus: BatchStatus?
        while true {
            let detail = try await JobOperator(registry: SwiftBatch.registry, repository: repository)
                .execution(executionId)
            let execution = detail.execution
            if execution.status != lastStatus {
                display.line("execution \(executionId): \(execution.status.rawValue)")
                lastStatus = execution.status
            }
            let line = detail.steps.filter { !$0.stepName.contains(":") }.map {
                "\($0.stepName) \($0.status.rawValue.lowercased()) read \($0.counters.read) write \($0.counters.write)"
            }.joined(separator: " | ")
            if line != lastLine, !line.isEmpty {
                display.counts(line)
                lastLine = line
            }
            if execution.status.isFinished {
                display.finish()
                if !execution.exitMessage.isEmpty {
                    display.line("  \(ExecutionFormatter.printable(execution.exitMessage))")
                }
                guard execution.status == .completed else { throw ExitCode(1) }
                return
            }
            // Wake at the next event, or after a second to refresh the counts.
            await wakeup.wait(atMost: .seconds(1))
        }
    }
}

/// Lets one waiter sleep until signalled or until a timeout, whichever comes first; a signal with nobody waiting
/// is kept for the next wait.
final class Wakeup: Sendable {
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    func wait(atMost timeout: Duration) async {
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.signal()
        }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
        state.withLock { $0.pending = false }
    }
}

/// A failure the CLI reports in one line, exiting 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
