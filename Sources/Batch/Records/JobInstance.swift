import Foundation

/// A job and one set of identifying parameters: the thing that is run, and run again until it completes.
public struct JobInstance: Sendable, Hashable, Codable, Identifiable {
    /// The repository's id.
    public var id: Int64
    /// The job's name.
    public var jobName: String
    /// The hex SHA-256 of the canonical JSON of the identifying parameters; unique with ``jobName``.
    public var jobKey: String
    /// The parameters of the instance's first execution.
    public var parameters: JobParameters
    /// When the instance was created.
    public var createTime: Date

    /// Creates an instance record.
    public init(id: Int64, jobName: String, jobKey: String, parameters: JobParameters, createTime: Date) {
        self.id = id
        self.jobName = jobName
        self.jobKey = jobKey
        self.parameters = parameters
        self.createTime = createTime
    }
}
