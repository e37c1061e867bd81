import Batch
import Foundation

/// The schedules in PostgreSQL (the tables of migration 3): what the scheduler of every worker claims and fires,
/// and what `swiftbatch schedule` adds, lists, pauses, resumes, removes and triggers.
///
/// Due-ness is decided by the database clock (`now()`), so workers with skewed clocks agree. Firing a slot and
/// recording its start command happen in one transaction: a row in `schedule_firings` (primary key schedule and
/// slot: each slot fires once) and one in `schedule_outbox`; the caller publishes the command and removes it once confirmed.
public struct PostgresScheduleStore: Sendable {
    /// The repository whose pool and schema the store uses.
    public let repository: PostgresJobRepository
    var quoted: String { repository.quoted }

    /// Creates the store on a repository's pool and schema.
    public init(repository: PostgresJobRepository) {
        self.repository = repository
    }

    static let columns =
        "name, job, cron, time_zone, template, misfire, paused, origin, next_fire_time, last_slot"

    static func record(from row: PostgresRow) throws -> ScheduleRecord {
        let misfireText = try row.decode("misfire", as: String.self)
        let originText = try row.decode("origin", as: String.self)
        guard let misfire = MisfirePolicy(rawValue: misfireText),
            let origin = ScheduleRecord.Origin(rawValue: originText)
        else {
            throw PostgresError(.decoding, "unknown misfire policy or origin '\(misfireText)', '\(originText)'")
        }
        return ScheduleRecord(
            name: try row.decode("name"), job: try row.decode("job"), cron: try row.decode("cron"),
            timeZone: try row.decode("time_zone"), template: try row.decode("template"), misfire: misfire,
            paused: try row.decode("paused"), origin: origin, nextFireTime: try row.decode("next_fire_time"),
            lastSlot: try row.decode("last_slot"))
    }

    /// The database's clock.
    public func now() async throws -> Date {
        try await repository.repositoryCall("read the database clock") {
            try await repository.select("SELECT now() AS now", []).single().decode("now")
        }
    }

    // MARK: - The scheduler's tick

    /// The idle tick's one query: whether any schedule is due (by the database clock) and whether any start
    /// waits unsent since longer than `resendAfter`. Two probes of partial indexes.
    public func probe(resendAfter: Duration) async throws -> (due: Bool, unsent: Bool) {
        try await repository.repositoryCall("look for due schedules") {
            let row = try await repository.select(
                Self.probeSQL(quoted), [.double(resendAfter.timeInterval)]
            ).single()
            return (try row.decode("due"), try row.decode("unsent"))
        }
    }

    /// The statement of ``probe(resendAfter:)`` for a quoted schema (the benchmark explains it).
    public static func probeSQL(_ quoted: String) -> String {
        """
        SELECT EXISTS (SELECT 1 FROM \(quoted).schedules WHERE NOT paused AND next_fire_time <= now()) AS due,
               EXISTS (SELECT 1 FROM \(quoted).schedule_outbox
                        WHERE sent_at IS NULL AND attempted_at <= now() - make_interval(secs => $1)) AS unsent
        """
    }

    /// How long before a schedule's last slot its firings are kept (for `schedule list` and `execution ID`); older
    /// ones are removed as the schedule fires.
    public static let firingRetention: Duration = .seconds(7 * 86_400)
    /// The most firings older than ``firingRetention`` one ``fireDue(limit:advance:)`` removes.
    public static let firingsRemovedPerCall = 1_000

    /// Claims up to `limit` due schedules (`FOR UPDATE SKIP LOCKED`: another worker's claim is passed over) and,
    /// in the same transaction, records the firings `advance` plans for each (a slot already fired is left out),
    /// their start commands in the outbox, and each schedule's next fire time; then removes up to
    /// ``firingsRemovedPerCall`` of their firings more than ``firingRetention`` before their last slot (only later
    /// slots fire, so those stop no duplicate).
    ///
    /// - Parameters:
    ///   - limit: the most schedules claimed.
    ///   - advance: what a schedule fires at the database's `now`; nil leaves it unclaimed (not due after all).
    /// - Returns: the outbox entries recorded (to publish, then ``markSent(_:)``), and how many schedules were claimed.
    public func fireDue(
        limit: Int, advance: (ScheduleRecord, Date) -> ScheduleAdvance
    ) async throws -> (entries: [ScheduleOutboxEntry], claimed: Int) {
        try await repository.repositoryCall("fire due schedules") {
            try await repository.pool.withConnection { connection in
                try await connection.withTransaction { connection in
                    let rows = try await connection.query(
                        """
                        SELECT \(Self.columns), now() AS now FROM \(quoted).schedules
                         WHERE NOT paused AND next_fire_time <= now()
                         ORDER BY next_fire_time LIMIT $1 FOR UPDATE SKIP LOCKED
                        """, [.int(max(1, limit))], prepared: true)
                    guard let first = rows.first else { return ([], 0) }
                    let now: Date = try first.decode("now")
                    var plans: [JSONValue] = []
                    var updates: [JSONValue] = []
                    for row in rows {
                        let schedule = try Self.record(from: row)
                        let advanced = advance(schedule, now)
                        for firing in advanced.fire {
                            plans.append(Self.planJSON(schedule.name, firing))
                        }
                        updates.append(
                            .object([
                                "name": .string(schedule.name),
                                "next": advanced.nextFireTime.map { .string(PostgresTimestamp.format($0)) } ?? .null,
                                "last": advanced.lastSlot.map { .string(PostgresTimestamp.format($0)) } ?? .null,
                            ]))
                    }
                    let entries = try await insertFirings(plans, on: connection)
                    // With the new positions, the firings older than the retention before a claimed schedule's
                    // last slot go (at most `firingsRemovedPerCall`): only slots after it fire, so they stop no
                    // duplicate, and the table stays bounded.
                    try await connection.query(
                        """
                        WITH moved AS (
                            UPDATE \(quoted).schedules s
                               SET next_fire_time = u.next, last_slot = u.last, updated = now()
                              FROM jsonb_to_recordset($1) AS u(name text, next timestamptz, last timestamptz)
                             WHERE s.name = u.name
                            RETURNING s.name, s.last_slot
                        )
                        DELETE FROM \(quoted).schedule_firings
                         WHERE (schedule, slot) IN (
                               SELECT f.schedule, f.slot FROM moved m
                                 JOIN \(quoted).schedule_firings f
                                   ON f.schedule = m.name AND f.slot < m.last_slot - make_interval(secs => $2)
                                LIMIT $3)
                        """,
                        [
                            .json(.array(updates)), .double(Self.firingRetention.timeInterval),
                            .int(Self.firingsRemovedPerCall),
                        ], prepared: true)
                    return (entries, rows.count)
                }
            }
        }
    }

    static func planJSON(_ schedule: String, _ firing: ScheduleFiringPlan) -> JSONValue {
        .object([
            "schedule": .string(schedule), "slot": .string(PostgresTimestamp.format(firing.slot)),
            "job_name": .string(firing.jobName), "job_key": firing.jobKey.map { .string($0) } ?? .null,
            "command": firing.command,
        ])
    }

    /// Inserts firings (those of a slot already fired are left out) and the outbox rows of the new ones.
    func insertFirings(
        _ plans: [JSONValue], on connection: PostgresConnection
    ) async throws
        -> [ScheduleOutboxEntry]
    {
        guard !plans.isEmpty else { return [] }
        return try await connection.query(
            """
            WITH plan AS (
                SELECT * FROM jsonb_to_recordset($1)
                    AS p(schedule text, slot timestamptz, job_name text, job_key text, command jsonb)
            ), fired AS (
                INSERT INTO \(quoted).schedule_firings (schedule, slot, job_name, job_key)
                SELECT schedule, slot, job_name, job_key FROM plan
                ON CONFLICT (schedule, slot) DO NOTHING
                RETURNING schedule, slot
            )
            INSERT INTO \(quoted).schedule_outbox (schedule, slot, command)
            SELECT p.schedule, p.slot, p.command FROM plan p JOIN fired f USING (schedule, slot)
             ORDER BY p.slot
            RETURNING id, schedule, slot, command
            """, [.json(.array(plans))], prepared: true
        ).map(Self.outboxEntry(from:))
    }

    static func outboxEntry(from row: PostgresRow) throws -> ScheduleOutboxEntry {
        ScheduleOutboxEntry(
            id: try row.decode("id"), schedule: try row.decode("schedule"), slot: try row.decode("slot"),
            command: try row.decode("command"))
    }

    /// Claims up to `limit` starts still unsent since longer than `olderThan` (`FOR UPDATE SKIP LOCKED`, then their
    /// attempt time moves to now, so no other worker re-sends them for another `olderThan`).
    public func claimUnsent(olderThan: Duration, limit: Int) async throws -> [ScheduleOutboxEntry] {
        try await repository.repositoryCall("claim unsent scheduled starts") {
            try await repository.select(
                """
                UPDATE \(quoted).schedule_outbox SET attempted_at = now()
                 WHERE id IN (SELECT id FROM \(quoted).schedule_outbox
                               WHERE sent_at IS NULL AND attempted_at <= now() - make_interval(secs => $1)
                               ORDER BY attempted_at LIMIT $2 FOR UPDATE SKIP LOCKED)
                RETURNING id, schedule, slot, command
                """, [.double(olderThan.timeInterval), .int(max(1, limit))]
            ).map(Self.outboxEntry(from:)).sorted { $0.id < $1.id }
        }
    }

    /// Removes outbox entries the broker confirmed: the outbox only carries starts to the broker (the firing row
    /// is the record of the slot), so it holds no more than the starts still on their way.
    public func markSent(_ ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await repository.repositoryCall("remove sent scheduled starts") {
            try await repository.select(
                "DELETE FROM \(quoted).schedule_outbox WHERE id IN (SELECT (jsonb_array_elements_text($1))::bigint)",
                [.json(.array(ids.map { .int($0) }))])
        }
    }
}
