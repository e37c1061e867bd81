import Batch
import BatchPostgres
import Foundation

/// What the scheduler tests read from the database of an ``EndToEnd`` world.
extension EndToEnd {
    var schedules: PostgresScheduleStore { PostgresScheduleStore(repository: repository) }

    /// Per fired slot of `schedule`: its instances and executions (by the instance key the firing recorded), how
    /// many of them COMPLETED, and how many the lease sweep FAILED because their worker was lost.
    func slotOutcomes(
        _ schedule: String
    ) async throws -> [(slot: Date, instances: Int, executions: Int, completed: Int, lost: Int)] {
        try await repository.pool.withConnection { connection in
            try await connection.query(
                """
                SELECT f.slot, count(DISTINCT i.id) AS instances, count(e.id) AS executions,
                       count(e.id) FILTER (WHERE e.status = 'COMPLETED') AS completed,
                       count(e.id) FILTER (WHERE e.status = 'FAILED' AND e.exit_message LIKE '%was lost%') AS lost
                  FROM \(name).schedule_firings f
                  LEFT JOIN \(name).job_instances i ON i.job_name = f.job_name AND i.job_key = f.job_key
                  LEFT JOIN \(name).job_executions e ON e.instance_id = i.id
                 WHERE f.schedule = $1 GROUP BY f.slot ORDER BY f.slot
                """, [.text(schedule)]
            ).map {
                (
                    try $0.decode("slot"), try $0.decode("instances"), try $0.decode("executions"),
                    try $0.decode("completed"), try $0.decode("lost")
                )
            }
        }
    }

    /// The instances of `job` a schedule's start made (their `scheduledTime`), and how many there are per value.
    func scheduledInstances(job: String) async throws -> [String: Int] {
        try await repository.pool.withConnection { connection in
            var counts: [String: Int] = [:]
            for row in try await connection.query(
                "SELECT parameters->>'scheduledTime' AS slot FROM \(name).job_instances WHERE job_name = $1",
                [.text(job)])
            {
                if let slot = try row.decode("slot", as: String?.self) { counts[slot, default: 0] += 1 }
            }
            return counts
        }
    }

    /// `(slot, fired_at)` of a schedule's firings, oldest first.
    func firings(_ schedule: String) async throws -> [(slot: Date, firedAt: Date)] {
        try await repository.pool.withConnection { connection in
            try await connection.query(
                "SELECT slot, fired_at FROM \(name).schedule_firings WHERE schedule = $1 ORDER BY slot",
                [.text(schedule)]
            ).map { (try $0.decode("slot"), try $0.decode("fired_at")) }
        }
    }

    /// Rows of the schedules table.
    func scheduleCount() async throws -> Int64 {
        try await repository.pool.withConnection { connection in
            try await connection.query("SELECT count(*) AS n FROM \(name).schedules").single().decode("n")
        }
    }

    /// Outbox rows: starts not yet confirmed by the broker (sent ones are removed).
    func unsentStarts() async throws -> Int64 {
        try await repository.pool.withConnection { connection in
            try await connection.query("SELECT count(*) AS n FROM \(name).schedule_outbox").single().decode("n")
        }
    }

    /// Adds a schedule with the CLI, requiring success.
    func addSchedule(_ name: String, _ arguments: [String]) async throws {
        let (status, output) = try await cli(["schedule", "add", name] + arguments, timeout: .seconds(30))
        guard status == 0 else { throw EndToEndError("schedule add \(name) failed (\(status)): \(output)") }
    }
}

/// Whole-second slots with no gap: each one second after the one before.
func consecutiveSeconds(_ slots: [Date]) -> Bool {
    zip(slots, slots.dropFirst()).allSatisfy { abs($1.timeIntervalSince($0) - 1) < 0.001 }
}
