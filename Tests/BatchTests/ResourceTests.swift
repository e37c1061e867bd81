import Batch
import BatchTestKit
import Foundation
import Synchronization
import Testing

/// An application resource: a stand-in for a connection pool.
final class FakePool: Sendable {
    let name: String
    init(_ name: String) { self.name = name }
}

enum AppPool: ResourceKey { typealias Value = FakePool }
enum Missing: ResourceKey { typealias Value = Int }

@Suite("Application resources")
struct ResourceTests {
    @Test("a step reaches the job's resource by key and by type; the job's registration wins over the operator's")
    func jobAndOperator() async throws {
        let seen = Recorder<String>()
        let job = Job("uses-pool") {
            Step("s") { context in
                seen.append(try await context.resource(AppPool.self).name)
                seen.append(try await context.resource(ofType: String.self))
            }
        }
        .resource(AppPool.self, FakePool("job"))
        .resource("a data directory")
        let other = Job("operator-pool") {
            Step("s") { context in seen.append(try await context.resource(AppPool.self).name) }
        }
        var shared = JobResources()
        shared.set(AppPool.self, to: FakePool("operator"))
        let jobOperator = JobOperator(
            registry: try JobRegistry([job, other]), repository: InMemoryJobRepository(), resources: shared,
            logger: quietLogger)
        #expect(try await jobOperator.start("uses-pool").status == .completed)
        #expect(try await jobOperator.start("operator-pool").status == .completed)
        #expect(seen.all == ["job", "a data directory", "operator"])
    }

    @Test("a resource factory runs once, however many executions and partitions ask at once")
    func factoryOnce() async throws {
        let made = Mutex(0)
        let job = Job("lazy") {
            PartitionStep(
                "p", partitions: 4,
                partitioner: { count, _ in
                    Dictionary(uniqueKeysWithValues: (0..<count).map { ("p\($0)", ExecutionContext()) })
                },
                step: Step("use") { context in _ = try await context.resource(AppPool.self) })
        }
        .resource(AppPool.self) {
            made.withLock { $0 += 1 }
            try await Task.sleep(for: .milliseconds(20))
            return FakePool("lazy")
        }
        let jobOperator = try makeOperator(job)
        #expect(try await jobOperator.start("lazy", params: #"{"n":1}"#).status == .completed)
        #expect(try await jobOperator.start("lazy", params: #"{"n":2}"#).status == .completed)
        #expect(made.withLock { $0 } == 1)
    }

    @Test("a factory that fails fails the step, and the next execution tries again")
    func factoryRetried() async throws {
        let fail = FailOnce()
        let job = Job("flaky") { Step("s") { context in _ = try await context.resource(AppPool.self) } }
            .resource(AppPool.self) {
                if fail.shouldFail("pool") { throw Boom(description: "database down") }
                return FakePool("ok")
            }
        let jobOperator = try makeOperator(job)
        let failed = try await jobOperator.start("flaky")
        #expect(failed.status == .failed)
        #expect(failed.exitMessage.contains("could not make resource"), "\(failed.exitMessage)")
        #expect(failed.exitMessage.contains("database down"), "\(failed.exitMessage)")
        #expect(try await jobOperator.restart("flaky").status == .completed)
    }

    @Test("a resource nobody registered fails the step with a message naming the key")
    func missing() async throws {
        let job = Job("lacking") { Step("s") { context in _ = try await context.resource(Missing.self) } }
        let execution = try await makeOperator(job).start("lacking")
        #expect(execution.status == .failed)
        #expect(execution.exitMessage.contains("no resource"), "\(execution.exitMessage)")
        #expect(execution.exitMessage.contains("Missing"), "\(execution.exitMessage)")
        do {
            _ = try await JobResources().resource(Missing.self)
            Issue.record("expected missingResource")
        } catch let error as BatchError {
            #expect(error.code == .missingResource)
        }
    }

    @Test("readers, processors, writers and listeners reach the resources too")
    func everywhere() async throws {
        let seen = Recorder<String>()
        struct Audit: JobListener {
            let seen: Recorder<String>
            func beforeJob(_ execution: JobExecution, context: JobListenerContext) async throws {
                seen.append("listener:" + (try await context.resource(AppPool.self)).name)
            }
        }
        let job = Job("chunked") {
            ChunkStep(
                "c", chunkSize: 10,
                reader: { context in
                    seen.append("reader:" + (try await context.resource(AppPool.self)).name)
                    return ArrayItemReader([1, 2])
                },
                processor: { item, context in
                    seen.append("processor:" + (try await context.resource(AppPool.self)).name)
                    return item * 10
                },
                writer: { context in
                    let pool = try await context.resource(AppPool.self)
                    return ClosureItemWriter<Int> { items in seen.append("writer:\(pool.name):\(items)") }
                })
        }
        .resource(AppPool.self, FakePool("app"))
        .listener(Audit(seen: seen))
        #expect(try await makeOperator(job).start("chunked").status == .completed)
        #expect(
            seen.all == [
                "listener:app", "reader:app", "processor:app", "processor:app", "writer:app:[10, 20]",
            ])
    }

    @Test("closing the resources releases what factories made, once, and a later request makes it again")
    func close() async throws {
        let made = Mutex(0)
        let closed = Recorder<String>()
        let job = Job("closable") { Step("s") { context in _ = try await context.resource(AppPool.self) } }
            .resource(AppPool.self) {
                FakePool("pool-\(made.withLock { $0 += 1; return $0 })")
            } close: { pool in
                closed.append(pool.name)
            }
        let jobOperator = try makeOperator(job)
        await jobOperator.closeResources()
        #expect(closed.all.isEmpty, "nothing made, nothing to close")
        #expect(try await jobOperator.start("closable", params: #"{"n":1}"#).status == .completed)
        await jobOperator.closeResources()
        await jobOperator.closeResources()
        #expect(closed.all == ["pool-1"])
        #expect(try await jobOperator.start("closable", params: #"{"n":2}"#).status == .completed)
        #expect(made.withLock { $0 } == 2)
    }

    @Test("a step's data directory is the one registered as a resource, else the process's")
    func dataDirectory() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("resource-dir-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let registered = try DataDirectory(path: root.path)
        let seen = Recorder<String>()
        func job(_ name: String) -> Job {
            Job(name) { Step("s") { context in seen.append(try await context.dataDirectory.path) } }
        }
        let jobOperator = try makeOperator(job("dirs"), job("dirs-registered").resource(registered))
        #expect(try await jobOperator.start("dirs").status == .completed)
        #expect(try await jobOperator.start("dirs-registered").status == .completed)
        #expect(seen.all == [try DataDirectory.fromEnvironment().path, registered.path])
    }
}
