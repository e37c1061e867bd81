import Batch
import Logging

/// Logs each import as it starts and ends, with the counts of its load and what the shop's tables hold for the
/// day: a job listener (around the job) and a step listener (after each step) in one value.
struct ImportReport: JobListener, StepListener {
    func beforeJob(_ execution: JobExecution, context: JobListenerContext) async throws {
        let date = execution.parameters["date"]?.stringValue ?? "?"
        context.logger.info("import-orders started", metadata: ["date": "\(date)"])
    }

    func afterStep(_ execution: StepExecution, context: StepContext) async throws {
        guard execution.stepName == "load-orders" else { return }
        let counters = execution.counters
        context.logger.info(
            "orders loaded",
            metadata: [
                "status": "\(execution.status)", "read": "\(counters.read)", "written": "\(counters.write)",
                "filtered": "\(counters.filter)", "skipped": "\(counters.readSkip + counters.processSkip)",
            ])
    }

    func afterJob(_ execution: JobExecution, context: JobListenerContext) async throws {
        var metadata: Logger.Metadata = ["status": "\(execution.status)"]
        // What the day's import left in the shop's tables (whatever happened, the report must not fail the job).
        if let parameters = try? execution.parameters.decode(as: ImportOrdersParameters.self),
            let shop = try? await context.resource(ShopDatabase.self),
            let counts = try? await shop.counts(on: parameters.date)
        {
            metadata["orders"] = "\(counts.orders)"
            metadata["customers"] = "\(counts.customers)"
        }
        context.logger.info("import-orders ended", metadata: metadata)
    }
}
