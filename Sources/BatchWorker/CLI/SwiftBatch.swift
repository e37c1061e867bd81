import ArgumentParser
import Batch
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
public enum SwiftBatch {
    private static let registeredJobs = Mutex<JobRegistry?>(nil)

    /// The jobs given to ``main(jobs:arguments:)``.
    static var registry: JobRegistry {
        get throws {
            guard let registry = registeredJobs.withLock({ $0 }) else {
                throw BatchError(.invalidState, "SwiftBatch.main(jobs:) was not called")
            }
            return registry
        }
    }

    /// Parses the command line and runs the command with these jobs; exits the process when done.
    /// - Parameters:
    ///   - jobs: the jobs this executable can run (only these run, whatever a message asks).
    ///   - arguments: the arguments, without the program name; the process's by default.
    public static func main(jobs: [Job], arguments: [String]? = nil) async -> Never {
        do {
            let registry = try JobRegistry(jobs)
            registeredJobs.withLock { $0 = registry }
        } catch {
            FileHandle.standardError.write(Data("swiftbatch: \(error.batchDescription)\n".utf8))
            exit(70)
        }
        do {
            var command = try SwiftBatchCommand.parseAsRoot(arguments)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
            terminate(0)
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
            terminate(code.rawValue)
        }
    }

    /// Flushes the output and ends the process without running C `atexit` handlers: libpq's and OpenSSL's global
    /// clean-up would otherwise race with connection threads still closing (seen as a crash in libcrypto at exit).
    private static func terminate(_ code: Int32) -> Never {
        fflush(nil)  // every open output stream
        _exit(code)
    }
}

/// The root command.
struct SwiftBatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftbatch",
        abstract: "Run, start, stop and restart batch jobs persisted in PostgreSQL and driven through RabbitMQ.",
        discussion: """
            Configuration comes from flags or the environment: BATCH_DATABASE_URL, BATCH_AMQP_URL, BATCH_PREFIX, \
            BATCH_DATABASE_SCHEMA, BATCH_LOG_LEVEL. Defaults are the local services of scripts/services.
            A job is named by its name, an execution by its id: `swiftbatch stop daily-accounting`, \
            `swiftbatch stop 42`.
            """,
        subcommands: [
            WorkerCommand.self, StartCommand.self, StopCommand.self, RestartCommand.self, AbandonCommand.self,
            ExecutionsCommand.self, ExecutionCommand.self, RunCommand.self, MigrateCommand.self, JobsCommand.self,
            DeadLettersCommand.self,
        ])
}
