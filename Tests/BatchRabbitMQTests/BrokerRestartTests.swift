import BatchRabbitMQ
import Foundation
import Synchronization
import Testing

@Suite(.tags(.broker, .slow), .timeLimit(.minutes(5))) struct BrokerRestartTests {
    /// Restarts the broker application (`rabbitmqctl stop_app` / `start_app`) while a publisher and a consumer run;
    /// both must reconnect by themselves and every confirmed message must be consumed at least once. Runs alone (the
    /// other broker tests wait), and starts the broker again even when it fails.
    @Test(.enabled(if: !TestBroker.skipSlow, "BATCH_TEST_SKIP_SLOW=1"), .timeLimit(.minutes(3)))
    func publisherAndConsumerSurviveABrokerRestart() async throws {
        try await BrokerLock.shared.withExclusive {
            let topology = BatchTopology(prefix: TestBroker.randomPrefix())
            let publisherConnection = try await TestBroker.connect()
            let consumerConnection = try await TestBroker.connect()
            let publisher = BatchMessaging(
                connection: publisherConnection, topology: topology, logger: TestBroker.logger)
            try await publisher.declareTopology()
            try await consumerConnection.declare(topology.declarations)
            let queue = topology.commandsQueue

            let confirmed = Mutex(Set<Int>())
            let consumed = Mutex(Set<Int>())
            let stop = Atomic<Bool>(false)
            let consumer = try await consumerConnection.consume(queue: queue, prefetch: 50)
            let consuming = Task {
                for try await delivery in consumer {
                    if let index = Int(String(decoding: delivery.body, as: UTF8.self)) {
                        consumed.withLock { _ = $0.insert(index) }
                    }
                    try? delivery.ack()
                }
            }
            let publishing = Task {
                var index = 0
                while !stop.load(ordering: .relaxed) {
                    try await withThrowingTaskGroup(of: Int.self) { group in
                        for offset in 0..<10 {
                            let number = index + offset
                            group.addTask {
                                try await publisherConnection.publish(
                                    AMQPMessage(text: "\(number)"), exchange: "", routingKey: queue)
                                return number
                            }
                        }
                        for try await number in group { confirmed.withLock { _ = $0.insert(number) } }
                    }
                    index += 10
                    try await Task.sleep(for: .milliseconds(5))
                }
            }

            var restartFailure: (any Error)?
            do {
                try await Task.sleep(for: .seconds(1))
                let before = confirmed.withLock { $0.count }
                #expect(try TestBroker.rabbitmqctl("stop_app") == 0)
                try await Task.sleep(for: .seconds(2))
                #expect(try TestBroker.rabbitmqctl("start_app") == 0)
                _ = try? TestBroker.rabbitmqctl("await_startup")
                // Publishing goes on after the restart.
                let deadline = ContinuousClock.now + .seconds(60)
                while confirmed.withLock({ $0.count }) < before + 200 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(confirmed.withLock { $0.count } >= before + 200, "the publisher reconnected")
            } catch {
                restartFailure = error
            }
            // Whatever happened, the broker runs again before this test ends.
            _ = try? TestBroker.rabbitmqctl("start_app")
            stop.store(true, ordering: .relaxed)
            _ = try? await publishing.value

            // Every confirmed message is consumed at least once.
            let deadline = ContinuousClock.now + .seconds(60)
            var missing = confirmed.withLock { $0 }.subtracting(consumed.withLock { $0 })
            while !missing.isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                missing = confirmed.withLock { $0 }.subtracting(consumed.withLock { $0 })
            }
            #expect(missing.isEmpty, "\(missing.count) confirmed messages never arrived")
            #expect(confirmed.withLock { $0.count } > 200)

            consuming.cancel()
            await consumerConnection.close()
            await publisherConnection.close()
            await TestBroker.cleanUp(topology)
            if let restartFailure { throw restartFailure }
        }
    }
}
