import ArgumentParser
import Batch
import BatchRabbitMQ
import Foundation

struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "List the commands that were dead-lettered, with their reasons; send one back with --requeue.",
        discussion: """
            A command that can never succeed (not JSON, an unknown job, parameters the job refuses, a value the \
            database refuses) or that failed every attempt is moved to the dead-letter queue <prefix>.commands.dead \
            with its reason. Listing leaves the queue as it is. --requeue ID sends that one command back to the \
            commands queue with a fresh attempt count (fix what it depends on first, e.g. deploy the missing job).
            Example: \(SwiftBatch.commandName) dead-letters; \(SwiftBatch.commandName) dead-letters --requeue 6f0c...
            """)

    @OptionGroup var connection: ConnectionOptions

    @Option(
        parsing: .unconditional, help: "How many to list, oldest first (1 to \(BatchMessaging.deadLetterScanLimit)).")
    var limit: Int = 20

    @Option(help: ArgumentHelp("Send the dead letter with this id back to the commands queue.", valueName: "id"))
    var requeue: String?

    @Flag(help: "Print JSON, for scripts.")
    var json = false

    func validate() throws {
        try CLIValidation.integer(limit, "--limit", in: 1...BatchMessaging.deadLetterScanLimit)
        if let requeue, requeue.isEmpty || requeue.count > 64 {
            throw ValidationError(
                "--requeue takes a dead letter's id, as `\(SwiftBatch.commandName) dead-letters` lists it")
        }
    }

    func run() async throws {
        let logger = try connection.logger()
        let output = try await connection.withMessaging(logger) { messaging in
            try await messaging.declareTopology()  // what every worker declares; a fresh broker has no queue yet
            return try await report(messaging)
        }
        print(output)
    }

    private func report(_ messaging: BatchMessaging) async throws -> String {
        if let requeue {
            guard let letter = try await messaging.requeueDeadLetter(id: requeue) else {
                throw CLIError("no dead letter with id \(requeue) in \(messaging.topology.deadLetterQueue)")
            }
            return "sent back to \(messaging.topology.commandsQueue): \(ExecutionFormatter.printable(letter.text))"
        }
        let letters = try await messaging.deadLetters(limit: limit)
        return json ? try Self.json(letters) : Self.table(letters, queue: messaging.topology.deadLetterQueue)
    }

    static func table(_ letters: [DeadLetter], queue: String) -> String {
        guard !letters.isEmpty else { return "no dead letters in \(queue)" }
        return letters.map { letter in
            let command = letter.text.count > 200 ? letter.text.prefix(200) + "…" : letter.text
            return """
                \(ExecutionFormatter.printable(letter.id ?? "(no id: dead-lettered by the broker)"))
                  reason:  \(ExecutionFormatter.printable(letter.reason ?? "-"))
                  when:    \(ExecutionFormatter.time(letter.deadLettered))
                  command: \(ExecutionFormatter.printable(command))
                """
        }.joined(separator: "\n")
    }

    static func json(_ letters: [DeadLetter]) throws -> String {
        let values: [JSONValue] = letters.map { letter in
            .object([
                "id": letter.id.map(JSONValue.string) ?? .null,
                "reason": letter.reason.map(JSONValue.string) ?? .null,
                "originalQueue": letter.originalQueue.map(JSONValue.string) ?? .null,
                "deadLettered": letter.deadLettered.map { .string(ExecutionFormatter.time($0)) } ?? .null,
                "body": .string(letter.text),
            ])
        }
        return JSONValue.array(values).canonicalJSON
    }
}
