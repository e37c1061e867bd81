import Synchronization

/// The jobs a process may run, by name. Only registered jobs run: a command naming any other is refused.
public final class JobRegistry: Sendable {
    private let jobs = Mutex<[String: Job]>([:])

    /// Creates a registry holding `jobs`.
    /// - Throws: ``BatchError/Code/duplicateJob`` or ``BatchError/Code/invalidDefinition``.
    public init(_ jobs: [Job] = []) throws {
        for job in jobs { try register(job) }
    }

    /// Adds a job.
    /// - Throws: ``BatchError/Code/duplicateJob`` when a job of that name is already registered,
    ///   ``BatchError/Code/invalidDefinition`` when the definition is not valid or names a schedule as a registered
    ///   job does (a schedule's name is unique across jobs: one name is one row of the `schedules` table).
    public func register(_ job: Job) throws {
        try job.validateDefinition()
        try jobs.withLock { jobs in
            guard jobs[job.name] == nil else {
                throw BatchError(.duplicateJob, "a job named '\(job.name)' is already registered")
            }
            for schedule in job.schedules {
                if let other = jobs.values.first(where: { $0.schedules.contains { $0.name == schedule.name } }) {
                    throw BatchError(
                        .invalidDefinition,
                        "jobs '\(other.name)' and '\(job.name)' both have a schedule named '\(schedule.name)': "
                            + "schedule names are unique across jobs; give one of them another name")
                }
            }
            jobs[job.name] = job
        }
    }

    /// The job named `name`.
    /// - Throws: ``BatchError/Code/jobNotFound``, listing the registered names.
    public func job(named name: String) throws -> Job {
        try jobs.withLock { jobs in
            guard let job = jobs[name] else {
                let known = jobs.keys.sorted().joined(separator: ", ")
                throw BatchError(
                    .jobNotFound, "no job named '\(name)' is registered (registered: \(known.isEmpty ? "none" : known))"
                )
            }
            return job
        }
    }

    /// The registered job names, sorted.
    public var names: [String] { jobs.withLock { $0.keys.sorted() } }
}
