import Batch
import Foundation

extension PostgresScheduleStore {
    /// Adds a schedule. Its first fire time is computed by `start` from the database clock: the latest slot at or
    /// before now counts as handled (so a slot missed before the first worker ran follows the misfire policy), and
    /// the next one is when it first fires.
    ///
    /// - Parameters:
    ///   - record: the schedule (its `nextFireTime` and `lastSlot` are replaced).
    ///   - start: `(now) -> (lastSlot, nextFireTime)`.
    /// - Returns: the stored schedule.
    /// - Throws: ``BatchError`` with code ``BatchError/Code/scheduleExists`` when a schedule of that name exists
    ///   (decided by the insert itself: of two adds of one name at once, one gets this error).
    @discardableResult
    public func add(
        _ record: ScheduleRecord, start: (Date) -> (lastSlot: Date?, next: Date?)
    ) async throws
        -> ScheduleRecord
    {
        try await repository.repositoryCall("add schedule '\(record.name)'") {
            try await repository.pool.withConnection { connection in
                try await connection.withTransaction { connection in
                    let now: Date = try await connection.query("SELECT now() AS now").single().decode("now")
                    let (lastSlot, next) = start(now)
                    let rows = try await connection.query(
                        """
                        INSERT INTO \(quoted).schedules (name, job, cron, time_zone, template, misfire, paused, origin,
                                                        next_fire_time, last_slot)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                        ON CONFLICT (name) DO NOTHING
                        RETURNING \(Self.columns)
                        """, Self.values(record) + [next.map { .timestamp($0) }, lastSlot.map { .timestamp($0) }])
                    guard let row = rows.first else {
                        throw BatchError(
                            .scheduleExists,
                            "a schedule named '\(record.name)' exists already; remove it first or choose another name")
                    }
                    return try Self.record(from: row)
                }
            }
        }
    }

    private static func values(_ record: ScheduleRecord) -> [PostgresValue?] {
        [
            .text(record.name), .text(record.job), .text(record.cron), .text(record.timeZone), .json(record.template),
            .text(record.misfire.rawValue), .bool(record.paused), .text(record.origin.rawValue),
        ]
    }

    /// Syncs the schedules defined on job definitions: adds the new ones, updates those whose definition changed
    /// (see ``ScheduleRecord/changed(to:now:)``: the slots already handled stay handled, those the old definition
    /// missed still follow the misfire policy, and those only the new expression has before now are not missed),
    /// leaves unchanged ones as they are (paused included), and removes the code schedules of `jobs` no longer
    /// defined. Schedules of other jobs (another binary's) and those added with the CLI are left alone, except one
    /// the code now defines under the same name, which the code takes over.
    ///
    /// - Parameters:
    ///   - definitions: the schedules of the job definitions (origin code).
    ///   - jobs: the jobs this process defines.
    ///   - start: as for ``add(_:start:)``, for a schedule's `(now)`.
    /// - Returns: the names added or changed, and those removed.
    @discardableResult
    public func syncCodeSchedules(
        _ definitions: [ScheduleRecord], jobs: [String],
        start: (ScheduleRecord, Date) -> (lastSlot: Date?, next: Date?)
    ) async throws -> (changed: [String], removed: [String]) {
        try await repository.repositoryCall("sync the schedules of the job definitions") {
            try await repository.pool.withConnection { connection in
                try await connection.withTransaction { connection in
                    let now: Date = try await connection.query("SELECT now() AS now").single().decode("now")
                    let existing = try await connection.query(
                        "SELECT \(Self.columns) FROM \(quoted).schedules WHERE name IN "
                            + "(SELECT jsonb_array_elements_text($1)) FOR UPDATE",
                        [.json(.array(definitions.map { .string($0.name) }))]
                    ).map(Self.record(from:))
                    let byName = Dictionary(existing.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
                    var changed: [String] = []
                    for definition in definitions {
                        if let stored = byName[definition.name], stored.origin == .code,
                            stored.sameDefinition(as: definition)
                        {
                            continue
                        }
                        let fresh = start(definition, now)
                        // A changed definition keeps what was handled and what it missed (the policy decides);
                        // slots only its new expression has before now are not missed.
                        let (lastSlot, next) = byName[definition.name]?.changed(to: fresh, now: now) ?? fresh
                        try await connection.query(
                            """
                            INSERT INTO \(quoted).schedules (name, job, cron, time_zone, template, misfire, paused,
                                                            origin, next_fire_time, last_slot)
                            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                            ON CONFLICT (name) DO UPDATE
                               SET job = EXCLUDED.job, cron = EXCLUDED.cron, time_zone = EXCLUDED.time_zone,
                                   template = EXCLUDED.template, misfire = EXCLUDED.misfire, origin = 'code',
                                   next_fire_time = EXCLUDED.next_fire_time, last_slot = EXCLUDED.last_slot,
                                   updated = now()
                            """,
                            Self.values(definition) + [next.map { .timestamp($0) }, lastSlot.map { .timestamp($0) }])
                        changed.append(definition.name)
                    }
                    let removed = try await connection.query(
                        """
                        DELETE FROM \(quoted).schedules
                         WHERE origin = 'code' AND job IN (SELECT jsonb_array_elements_text($1))
                           AND name NOT IN (SELECT jsonb_array_elements_text($2))
                        RETURNING name
                        """,
                        [
                            .json(.array(jobs.map { .string($0) })),
                            .json(.array(definitions.map { .string($0.name) })),
                        ]
                    ).map { try $0.decode("name", as: String.self) }
                    return (changed, removed.sorted())
                }
            }
        }
    }

    /// One schedule, or nil.
    public func schedule(named name: String) async throws -> ScheduleRecord? {
        try await repository.repositoryCall("read schedule '\(name)'") {
            try await repository.select(
                "SELECT \(Self.columns) FROM \(quoted).schedules WHERE name = $1", [.text(name)]
            ).first.map(Self.record(from:))
        }
    }

    /// Every schedule by name, each with its last firing and the execution that firing started (found through the
    /// instance its start made), as `swiftbatch schedule list` shows them.
    public func list() async throws -> [ScheduleListing] {
        try await repository.repositoryCall("list the schedules") {
            try await repository.select(
                """
                SELECT \(PostgresJobRepository.qualified(Self.columns, by: "s")), f.slot AS fired_slot, f.fired_at, e.id AS execution_id, e.status AS execution_status
                  FROM \(quoted).schedules s
                  LEFT JOIN LATERAL (
                      SELECT slot, fired_at, job_name, job_key FROM \(quoted).schedule_firings
                       WHERE schedule = s.name ORDER BY slot DESC LIMIT 1
                  ) f ON true
                  LEFT JOIN LATERAL (
                      SELECT e.id, e.status FROM \(quoted).job_instances i
                        JOIN \(quoted).job_executions e ON e.instance_id = i.id
                       WHERE i.job_name = f.job_name AND i.job_key = f.job_key
                       ORDER BY e.id DESC LIMIT 1
                  ) e ON true
                 ORDER BY s.name
                """, []
            ).map { row in
                ScheduleListing(
                    schedule: try Self.record(from: row), lastFiredSlot: try row.decode("fired_slot"),
                    lastFiredAt: try row.decode("fired_at"), lastExecutionId: try row.decode("execution_id"),
                    lastExecutionStatus: try row.decode("execution_status"))
            }
        }
    }

    /// Pauses a schedule: it fires nothing until resumed.
    /// - Throws: ``BatchError`` with code ``BatchError/Code/jobNotFound`` when there is no such schedule.
    public func pause(_ name: String) async throws {
        try await repository.repositoryCall("pause schedule '\(name)'") {
            let rows = try await repository.select(
                "UPDATE \(quoted).schedules SET paused = true, updated = now() WHERE name = $1", [.text(name)])
            guard rows.affectedRows == 1 else { throw Self.noSuchSchedule(name) }
        }
    }

    /// Resumes a paused schedule from now: the slots it missed while paused are not fired. A schedule that is not
    /// paused is left as it is (the slots it missed, say while no worker ran, still follow its misfire policy).
    ///
    /// - Parameter start: `(schedule, now) -> (lastSlot, nextFireTime)`, as for ``add(_:start:)``.
    /// - Returns: whether the schedule was paused and is resumed; false when it was not paused (nothing changed).
    /// - Throws: ``BatchError`` with code ``BatchError/Code/jobNotFound`` when there is no such schedule.
    public func resume(
        _ name: String, start: (ScheduleRecord, Date) -> (lastSlot: Date?, next: Date?)
    ) async throws -> Bool {
        try await repository.repositoryCall("resume schedule '\(name)'") {
            try await repository.pool.withConnection { connection in
                try await connection.withTransaction { connection in
                    let rows = try await connection.query(
                        "SELECT \(Self.columns), now() AS now FROM \(quoted).schedules WHERE name = $1 FOR UPDATE",
                        [.text(name)])
                    guard let row = rows.first else { throw Self.noSuchSchedule(name) }
                    let schedule = try Self.record(from: row)
                    guard schedule.paused else { return false }
                    let (lastSlot, next) = start(schedule, try row.decode("now"))
                    try await connection.query(
                        """
                        UPDATE \(quoted).schedules SET paused = false, last_slot = $2, next_fire_time = $3,
                               updated = now()
                         WHERE name = $1 AND paused
                        """, [.text(name), lastSlot.map { .timestamp($0) }, next.map { .timestamp($0) }])
                    return true
                }
            }
        }
    }

    /// Why a resume of a schedule that is not paused changed nothing, as the CLI and the API say it.
    public static func notPausedMessage(_ name: String) -> String {
        "schedule '\(name)' is not paused; nothing was resumed (its missed slots follow its misfire policy)"
    }

    /// Removes a schedule and its firings (starts still in the outbox are still sent).
    /// - Throws: ``BatchError`` with code ``BatchError/Code/jobNotFound`` when there is no such schedule.
    public func remove(_ name: String) async throws {
        try await repository.repositoryCall("remove schedule '\(name)'") {
            let rows = try await repository.select("DELETE FROM \(quoted).schedules WHERE name = $1", [.text(name)])
            guard rows.affectedRows == 1 else { throw Self.noSuchSchedule(name) }
        }
    }

    /// Fires a schedule now, outside its expression: the slot is the database's current second, recorded with its
    /// start command in one transaction, as the scheduler does.
    ///
    /// - Parameter plan: the firing of `(schedule, slot)`.
    /// - Returns: the outbox entry to publish, or nil when that slot has fired already.
    /// - Throws: ``BatchError`` with code ``BatchError/Code/jobNotFound`` when there is no such schedule.
    public func trigger(
        _ name: String, plan: (ScheduleRecord, Date) throws -> ScheduleFiringPlan
    ) async throws
        -> ScheduleOutboxEntry?
    {
        try await repository.repositoryCall("trigger schedule '\(name)'") {
            try await repository.pool.withConnection { connection in
                try await connection.withTransaction { connection in
                    let rows = try await connection.query(
                        """
                        SELECT \(Self.columns), date_trunc('second', now()) AS slot FROM \(quoted).schedules
                         WHERE name = $1 FOR SHARE
                        """, [.text(name)])
                    guard let row = rows.first else { throw Self.noSuchSchedule(name) }
                    let firing = try plan(try Self.record(from: row), try row.decode("slot"))
                    return try await insertFirings([Self.planJSON(name, firing)], on: connection).first
                }
            }
        }
    }

    /// The firing that started an instance (its job and instance key), if a schedule's did.
    public func firing(jobName: String, jobKey: String) async throws -> ScheduleFiringReference? {
        try await repository.repositoryCall("read the schedule firing of an instance of '\(jobName)'") {
            try await repository.select(
                """
                SELECT schedule, slot, fired_at FROM \(quoted).schedule_firings
                 WHERE job_name = $1 AND job_key = $2 ORDER BY fired_at LIMIT 1
                """, [.text(jobName), .text(jobKey)]
            ).first.map {
                ScheduleFiringReference(
                    schedule: try $0.decode("schedule"), slot: try $0.decode("slot"), firedAt: try $0.decode("fired_at")
                )
            }
        }
    }

    static func noSuchSchedule(_ name: String) -> BatchError {
        BatchError(.jobNotFound, "no schedule named '\(name)'; `schedule list` shows them")
    }
}
