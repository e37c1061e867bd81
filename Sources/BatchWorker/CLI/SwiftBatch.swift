import ArgumentParser
import Batch
import BatchPostgres
import Foundation
import Logging
import Synchronization

/// The `swiftbatch` command line, for any set of jobs: a user's own executable gets the same CLI as the demo.
///
/// ```swift
/// @main enum App {
///     static func main() async { await SwiftBatch.main(jobs: [dailyAccounting, monthEnd]) }
/// }
/// ```
///
/// Help and errors name the command as the executable is named (`USAGE: import-orders start <job> …`), unless
/// `name` says otherwise.
public enum SwiftBatch {
    private static let registeredJobs = Mutex<JobRegistry?>(nil)
    private static let chosenName = Mutex<String?>(nil)
    private static let chosenDatabase = Mutex<PostgresConfiguration?>(nil)

    /// The batch database the running command was pointed at — `--database-url` and `--schema`, else
    /// `BATCH_DATABASE_URL` and `BATCH_DATABASE_SCHEMA`, else the local default — so that a job's own pool (a
    /// resource) can use the same database as the job repository without reading the environment itself.
    ///
    /// Read it in a resource's factory, which runs when a step first asks for the resource (after the command
    /// opened its job repository). Before that, and in a command without a PostgreSQL repository
    /// (`run --in-memory`), it is what the environment says.
    public static var databaseConfiguration: PostgresConfiguration {
        get throws {
            if let chosen = chosenDatabase.withLock({ $0 }) { return chosen }
            return try ConnectionOptions.parse([]).postgresConfiguration()
        }
    }

    /// Records the database the command uses (``databaseConfiguration``).
    static func use(database configuration: PostgresConfiguration) {
        chosenDatabase.withLock { $0 = configuration }
    }

    /// The jobs given to ``main(jobs:name:arguments:)``.
    static var registry: JobRegistry {
        get throws {
            guard let registry = registeredJobs.withLock({ $0 }) else {
                throw BatchError(.invalidState, "SwiftBatch.main(jobs:) was not called")
            }
            return registry
        }
    }

    /// The root command's name in usage lines, help and error messages: the `name` given to
    /// ``main(jobs:name:arguments:)``, or else the executable's file name.
    static var commandName: String {
        chosenName.withLock { $0 } ?? executableName
    }

    /// The last component of the path the process was started with (`swiftbatch` when there is none).
    static var executableName: String {
        let path = CommandLine.arguments.first ?? ""
        let name = path.split(separator: "/").last.map(String.init) ?? ""
        return name.isEmpty ? "swiftbatch" : name
    }

    /// Parses the command line and runs the command with these jobs; exits the process when done.
    ///
    /// Every command closes its connections before it returns, also when it fails: the broker connection is
    /// closed and the PostgreSQL pool shut down with its connection threads joined. The process then ends with
    /// `exit`, so buffered output is flushed and C `atexit` handlers run with nothing left to race against.
    /// - Parameters:
    ///   - jobs: the jobs this executable can run (only these run, whatever a message asks).
    ///   - name: the command's name in help and errors (`USAGE: <name> start …`); the executable's file name by
    ///     default.
    ///   - arguments: the arguments, without the program name; the process's by default.
    public static func main(jobs: [Job], name: String? = nil, arguments: [String]? = nil) async -> Never {
        if let name, !name.isEmpty { chosenName.withLock { $0 = name } }
        LoggingBootstrap.once()
        do {
            let registry = try JobRegistry(jobs)
            registeredJobs.withLock { $0 = registry }
        } catch {
            FileHandle.standardError.write(Data("\(commandName): \(error.batchDescription)\n".utf8))
            exit(70)
        }
        exit(await run(arguments))
    }

    /// Parses and runs one command line; returns the exit status, after printing the outcome of a failure.
    static func run(_ arguments: [String]?) async -> Int32 {
        do {
            var command = try SwiftBatchCommand.parseAsRoot(arguments)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
            return 0
        } catch {
            let code = SwiftBatchCommand.exitCode(for: error)
            let message = SwiftBatchCommand.fullMessage(for: error)
            if !message.isEmpty {
                if code == .success {
                    print(message)
                } else {
                    FileHandle.standardError.write(Data((message + "\n").utf8))
                }
            }
            return code.rawValue
        }
    }
}

/// The root command.
struct SwiftBatchCommand: AsyncParsableCommand {
    static var configuration: CommandConfiguration {
        let name = SwiftBatch.commandName
        return CommandConfiguration(
            commandName: name,
            abstract: "Run, start, stop and restart batch jobs persisted in PostgreSQL and driven through RabbitMQ.",
            discussion: """
                Configuration comes from flags or the environment: BATCH_DATABASE_URL, BATCH_AMQP_URL, BATCH_PREFIX, \
                BATCH_DATABASE_SCHEMA, BATCH_LOG_LEVEL. Defaults are the local services of scripts/services.
                A job is named by its name, an execution by its id: `\(name) stop daily-accounting`, \
                `\(name) stop 42`.
                """,
            subcommands: [
                WorkerCommand.self, StartCommand.self, StopCommand.self, RestartCommand.self, AbandonCommand.self,
                ExecutionsCommand.self, ExecutionCommand.self, RunCommand.self, MigrateCommand.self, JobsCommand.self,
                DeadLettersCommand.self, ScheduleCommand.self, ServerCommand.self,
            ])
    }
}
