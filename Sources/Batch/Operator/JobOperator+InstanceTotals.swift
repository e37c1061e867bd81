import Foundation

/// What all executions of one job instance did together: the counters of every execution, added up.
///
/// A restarted instance reads on where its failed or stopped execution left off, so neither execution's counters
/// alone say how much the instance did; `swiftbatch execution ID` shows these totals beside the execution's own.
public struct InstanceTotals: Sendable, Hashable, Codable {
    /// The instance.
    public var instanceId: Int64
    /// Its executions' ids, oldest first.
    public var executionIds: [Int64]
    /// The counters of all steps of all its executions, added up; a partitioned step counts each partition once,
    /// in the execution that ran it.
    public var counters: StepCounters
    /// The same per step name, over every execution that ran the step.
    public var steps: [String: StepCounters]
    /// Whether every execution of the instance was found: false when the job has more executions than
    /// ``JobOperator/instanceTotalsScanLimit`` newer than the instance's first one.
    public var isComplete: Bool

    /// Creates a totals record.
    public init(
        instanceId: Int64, executionIds: [Int64], counters: StepCounters, steps: [String: StepCounters],
        isComplete: Bool
    ) {
        self.instanceId = instanceId
        self.executionIds = executionIds
        self.counters = counters
        self.steps = steps
        self.isComplete = isComplete
    }

    /// The counters of one execution's steps, added up; partitions (`step:N`) are left out, their step holds their
    /// sum.
    public static func counters(of steps: [StepExecution]) -> StepCounters {
        steps.filter { !$0.stepName.contains(":") }.reduce(StepCounters()) { $0 + $1.counters }
    }

    /// What one execution itself did, per step: a partitioned step counts the partitions this execution ran. Its
    /// own row also holds the partitions a restart reused, which the execution that ran them counts.
    static func work(of steps: [StepExecution]) -> [String: StepCounters] {
        var partitions: [String: StepCounters] = [:]
        for step in steps where step.stepName.contains(":") {
            let parent = String(step.stepName.prefix { $0 != ":" })
            partitions[parent] = (partitions[parent] ?? StepCounters()) + step.counters
        }
        var work: [String: StepCounters] = [:]
        for step in steps where !step.stepName.contains(":") {
            // A partitioned step whose partitions all ran earlier (every one reused) did none of its work itself.
            let isPartitioned = step.context[PartitionStep.partitionsKey] != nil
            work[step.stepName] = partitions[step.stepName] ?? (isPartitioned ? StepCounters() : step.counters)
        }
        return work
    }
}

extension JobOperator {
    /// The most executions of a job ``instanceTotals(instanceId:)`` looks through to find an instance's.
    public static let instanceTotalsScanLimit = 10_000

    /// The totals of all executions of an instance (see ``InstanceTotals``).
    ///
    /// The instance's executions are found among its job's executions, newest first, through
    /// `JobRepository.jobExecutions(jobName:limit:)`: the scan widens until it has reached executions older than
    /// the instance, or the job's oldest, or ``instanceTotalsScanLimit``.
    /// - Throws: ``BatchError/Code/executionNotFound`` when the instance does not exist; what the repository throws.
    public func instanceTotals(instanceId: Int64) async throws -> InstanceTotals {
        guard let instance = try await repository.jobInstance(id: instanceId) else {
            throw BatchError(.executionNotFound, "no job instance \(instanceId)")
        }
        var limit = 100
        var found: [JobExecution] = []
        var isComplete = false
        while true {
            let executions = try await repository.jobExecutions(jobName: instance.jobName, limit: limit)
            found = executions.filter { $0.instanceId == instanceId }
            // Executions come newest first; one created before the instance (with a minute's margin for clocks)
            // means every older one is too.
            let reachedOlder = executions.last.map { $0.createTime < instance.createTime.addingTimeInterval(-60) }
            if executions.count < limit || reachedOlder == true {
                isComplete = true
                break
            }
            if limit >= Self.instanceTotalsScanLimit { break }
            limit = min(limit * 10, Self.instanceTotalsScanLimit)
        }
        var total = StepCounters()
        var steps: [String: StepCounters] = [:]
        for execution in found {
            let work = InstanceTotals.work(of: try await repository.stepExecutions(jobExecutionId: execution.id))
            for (name, counters) in work {
                total = total + counters
                steps[name] = (steps[name] ?? StepCounters()) + counters
            }
        }
        return InstanceTotals(
            instanceId: instanceId, executionIds: found.map(\.id).sorted(), counters: total, steps: steps,
            isComplete: isComplete)
    }
}
