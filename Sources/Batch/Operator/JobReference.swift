/// Names what `stop` and `restart` act on: a job by name (its most recent instance's last execution) or one
/// execution by id. Literals work: `jobOperator.stop("daily-accounting")`, `jobOperator.stop(42)`.
public enum JobReference: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral,
    ExpressibleByIntegerLiteral
{
    /// The last execution of the most recent instance of the job with this name.
    case name(String)
    /// The execution with this id.
    case executionId(Int64)

    /// Reads a command-line argument: all digits is an execution id, anything else a job name.
    public init(parsing text: String) {
        if !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber), let id = Int64(text) {
            self = .executionId(id)
        } else {
            self = .name(text)
        }
    }

    /// A job name.
    public init(stringLiteral value: String) { self = .name(value) }
    /// An execution id.
    public init(integerLiteral value: Int64) { self = .executionId(value) }

    /// `job 'NAME'` or `execution ID`.
    public var description: String {
        switch self {
        case .name(let name): "job '\(name)'"
        case .executionId(let id): "execution \(id)"
        }
    }
}

/// A job execution with its instance and its step executions, as `swiftbatch execution ID` shows it.
public struct JobExecutionDetail: Sendable, Hashable, Codable {
    /// The execution.
    public var execution: JobExecution
    /// Its instance.
    public var instance: JobInstance
    /// Its step executions, in the order they ran.
    public var steps: [StepExecution]

    /// Creates a detail record.
    public init(execution: JobExecution, instance: JobInstance, steps: [StepExecution]) {
        self.execution = execution
        self.instance = instance
        self.steps = steps
    }
}
