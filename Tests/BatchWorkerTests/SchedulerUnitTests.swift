import Batch
import BatchPostgres
import BatchRabbitMQ
import BatchTestKit
import BatchWorker
import Foundation
import Logging
import Testing

/// The scheduler service against the in-memory store and sender: no servers, a clock the test moves.
@Suite("Scheduler service (in memory)")
struct SchedulerUnitTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)  // a whole second
    static let logger = Logger(label: "scheduler", factory: { _ in SwiftLogNoOpLogHandler() })

    static func world(
        _ cron: String = "* * * * * *", misfire: MisfirePolicy = .once
    ) throws
        -> (InMemoryScheduleStore, InMemoryCommandSender, SchedulerService)
    {
        let store = InMemoryScheduleStore(now: start)
        var record = ScheduleRecord(
            name: "s", job: "hello", cron: cron, template: .object(["who": "{{date}}"]), misfire: misfire,
            origin: .cli)
        (record.lastSlot, record.nextFireTime) = SchedulePlanner.start(record, now: start)
        store.put(record)
        let sender = InMemoryCommandSender()
        let registry = try JobRegistry([Job("hello") { Step("greet") { _ in } }])
        return (store, sender, SchedulerService(store: store, sender: sender, registry: registry, logger: logger))
    }

    @Test("an idle tick costs one probe; a due one fires the slot with scheduledTime and marks it sent")
    func idleAndDueTicks() async throws {
        let (store, sender, service) = try Self.world()
        store.advance(by: 0.5)
        let idle = await service.tick()
        #expect(idle.queries == 1 && idle.sent == 0 && store.probes == 1)
        store.advance(by: 0.6)
        let due = await service.tick()
        #expect(due.sent == 1 && due.claimed == 1)
        let command = try #require(sender.sent.first)
        #expect(command.parameters["scheduledTime"] == .string("2027-01-15T08:00:01Z"))
        #expect(command.parameters["who"] == .string("2027-01-15"))
        #expect(command.newInstanceOnly, "a copy of the start delivered twice must not run the slot again")
        #expect(store.unsent.isEmpty)
        #expect(await service.tick().sent == 0, "the same slot never fires twice")
    }

    @Test("a start the broker refused stays in the outbox and is re-sent after 5 s, once")
    func unsentStartsAreResent() async throws {
        let (store, sender, service) = try Self.world("0 0 1 1 *")
        store.put(
            ScheduleRecord(
                name: "t", job: "hello", cron: "* * * * * *", origin: .cli, nextFireTime: Self.start + 1,
                lastSlot: Self.start))
        sender.fail(with: AMQPError(.connectionLost, "broker away"))
        store.advance(by: 1)
        #expect(await service.tick().unsent == 1)
        #expect(store.unsent.count == 1 && sender.sent.isEmpty)
        sender.fail(with: nil)
        store.put(
            ScheduleRecord(name: "t", job: "hello", cron: "* * * * * *", paused: true, origin: .cli))
        store.advance(by: 2)
        #expect(await service.tick().sent == 0, "not re-sent before 5 s")
        store.advance(by: 4)
        #expect(await service.tick().sent == 1)
        #expect(sender.sent.count == 1 && store.unsent.isEmpty)
        store.advance(by: 10)
        #expect(await service.tick().sent == 0)
    }

    @Test("misfires after 10 missed seconds: skip fires the current slot only, once the latest, all each")
    func misfirePolicies() async throws {
        for (policy, expected) in [(MisfirePolicy.skip, 0), (.once, 1), (.all, 10)] {
            let (store, _, service) = try Self.world("*/10 * * * * *", misfire: policy)
            store.advance(by: 104.5)  // slots at +10 ... +100 missed; the latest is 4.5 s old
            #expect(await service.tick().sent == expected, "\(policy)")
            #expect(store.firedSlots(of: "s").count == expected)
        }
    }

    @Test("a database away: the tick logs and fires nothing; the next tick fires the slot")
    func databaseAway() async throws {
        let (store, sender, service) = try Self.world()
        store.fail(with: BatchError(.repositoryFailure, "database away"))
        store.advance(by: 1)
        #expect(await service.tick().sent == 0)
        store.fail(with: nil)
        #expect(await service.tick().sent == 1)
        #expect(sender.sent.count == 1)
    }
}
