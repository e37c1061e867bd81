import Batch

extension DemoJobs {
    /// `hello`: one tasklet step that logs its parameters.
    static let hello = Job("hello") {
        Step("greet") { context in
            context.logger.info("hello", metadata: ["parameters": "\(context.parameters.canonicalJSON)"])
            context.stepContext["greeted"] = .string(context.parameters.canonicalJSON)
        }
    }
}
