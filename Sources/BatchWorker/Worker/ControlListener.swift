import Batch
import BatchRabbitMQ
import Logging
import ServiceLifecycle

/// Hears the stops that reach every worker (the control exchange) and acts on those for executions running in this
/// process — a worker too busy to take commands from the queue still stops its job at once.
///
/// Listening runs in a task of its own: a broker that stopped answering cannot hold the service past a shutdown or
/// a cancellation.
final class ControlListener: Service {
    private let source: any CommandSource
    private let jobOperator: JobOperator
    private let logger: Logger

    init(source: any CommandSource, jobOperator: JobOperator, logger: Logger) {
        self.source = source
        self.jobOperator = jobOperator
        self.logger = logger
    }

    /// Listens until a graceful shutdown or cancellation, then cancels the source.
    func run() async {
        await Deadline.runUntilGracefulShutdown { await self.listen() }
        let source = self.source
        _ = await Deadline.run(until: .now + .milliseconds(500)) { try? await source.cancel() }
    }

    private func listen() async {
        do {
            while let delivery = try await source.next() {
                try? await delivery.ack()
                guard let command = try? delivery.command(), command.action == .stop else { continue }
                await stopLocally(command.target)
            }
        } catch {
            if !Task.isCancelled { logger.warning("control consumer ended", metadata: ["error": "\(error)"]) }
        }
    }

    private func stopLocally(_ target: Command.Target) async {
        let executionId: Int64?
        switch target {
        case .execution(let id):
            executionId = id
        case .job(let name):
            executionId = try? await jobOperator.lastExecution(of: .name(name)).id
        }
        guard let executionId, jobOperator.requestLocalStop(executionId: executionId) else { return }
        logger.info("stop received over the control exchange", metadata: ["job.execution.id": "\(executionId)"])
        _ = try? await jobOperator.stop(.executionId(executionId))
    }
}
