import Batch

extension DemoJobs {
    /// `hello`: one tasklet step that logs its parameters. `who`, if given, is a string of at most 200
    /// characters; other parameters are logged as they are.
    static let hello = Job("hello") {
        Step("greet") { context in
            context.logger.info("hello", metadata: ["parameters": "\(context.parameters.canonicalJSON)"])
            context.stepContext["greeted"] = .string(context.parameters.canonicalJSON)
        }
    }
    .validator { parameters in
        let who = try parameters.string("who", default: "")
        guard who.count <= 200 else {
            throw BatchError(.invalidParameters, "job parameter 'who' must be at most 200 characters, got \(who.count)")
        }
    }
}
