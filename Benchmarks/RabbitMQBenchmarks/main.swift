// Publish-with-confirms and consume-with-ack rates of 1 KiB persistent messages: the Swift layer (BatchRabbitMQ)
// side by side with a bare C loop over the same librabbitmq calls (the RabbitMQBareLoop target), in one run,
// alternating trials, medians and the ratio reported.
//
//     swift run -c release --scratch-path .build-amqp RabbitMQBenchmarks [messages] [trials] [window]
//
// Defaults: 20000 messages per trial, 5 trials, 100 messages in flight (publish window and consumer prefetch).
// The broker is BATCH_AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/%2f); the benchmark declares and deletes
// its own queue.

import BatchRabbitMQ
import BenchmarkSupport
import Foundation
import Logging
import RabbitMQBareLoop

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let messages = arguments.count > 0 ? arguments[0] : 20_000
let trials = arguments.count > 1 ? arguments[1] : 5
let window = arguments.count > 2 ? arguments[2] : 100
let messageSize = 1024

var logger = Logger(label: "RabbitMQBenchmarks")
logger.logLevel = .warning
let configuration = try AMQPConfiguration.fromEnvironment()
let queue = "bench.\(UUID().uuidString.prefix(8).lowercased())"

struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
}

func bare(_ body: (UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
    var error = [CChar](repeating: 0, count: 256)
    let status = error.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
    if status != 0 {
        throw BenchmarkFailure(
            description: "bare loop: "
                + String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}

func barePublish() throws -> Double {
    var seconds = 0.0
    try bare { error, size in
        RabbitMQBareLoop_publish(
            configuration.host, Int32(configuration.port), configuration.virtualHost, configuration.username,
            configuration.password, queue, Int32(messages), Int32(messageSize), Int32(window), &seconds, error, size)
    }
    return Double(messages) / seconds
}

func bareConsume() throws -> Double {
    var seconds = 0.0
    try bare { error, size in
        RabbitMQBareLoop_consume(
            configuration.host, Int32(configuration.port), configuration.virtualHost, configuration.username,
            configuration.password, queue, Int32(messages), Int32(window), &seconds, error, size)
    }
    return Double(messages) / seconds
}

func swiftPublish() async throws -> Double {
    let connection = try await AMQPConnection.connect(configuration: configuration, logger: logger)
    let message = AMQPMessage(
        body: [UInt8](repeating: UInt8(ascii: "x"), count: messageSize),
        properties: AMQPProperties(contentType: "application/octet-stream"))
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for lane in 0..<window {
            group.addTask {
                for _ in stride(from: lane, to: messages, by: window) {
                    try await connection.publish(message, exchange: "", routingKey: queue)
                }
            }
        }
        try await group.waitForAll()
    }
    let elapsed = start.duration(to: .now)
    await connection.close()
    return Double(messages) / seconds(elapsed)
}

func swiftConsume() async throws -> Double {
    let connection = try await AMQPConnection.connect(configuration: configuration, logger: logger)
    let consumer = try await connection.consume(queue: queue, prefetch: UInt16(window))
    let start = ContinuousClock.now
    var received = 0
    for try await delivery in consumer {
        try delivery.ack()
        received += 1
        if received == messages { break }
    }
    let elapsed = start.duration(to: .now)
    await connection.close()
    return Double(messages) / seconds(elapsed)
}

let admin = try await AMQPConnection.connect(configuration: configuration, logger: logger)
try await admin.declare([.queue(queue)], redeclareOnReconnect: false)
print(
    "RabbitMQ benchmark: \(messages) persistent messages of \(messageSize) bytes per trial, \(trials) trials,"
        + " window/prefetch \(window), broker \(configuration)")

var results: [String: [Double]] = [:]
do {
    for trial in 1...trials {
        // Alternate which side goes first, so that neither always meets a warmer broker.
        let order = trial % 2 == 1 ? ["bare", "swift"] : ["swift", "bare"]
        for side in order {
            try await admin.purgeQueue(queue)
            let publish = side == "bare" ? try barePublish() : try await swiftPublish()
            let consume = side == "bare" ? try bareConsume() : try await swiftConsume()
            results["\(side) publish", default: []].append(publish)
            results["\(side) consume", default: []].append(consume)
            let label = side.padding(toLength: 6, withPad: " ", startingAt: 0)
            print(
                String(format: "trial %d ", trial) + label
                    + String(format: "publish %8.0f msg/s   consume %8.0f msg/s", publish, consume))
        }
    }
} catch {
    try? await admin.deleteQueue(queue)
    throw error
}
try await admin.deleteQueue(queue)
await admin.close()

print("")
print("median            bare loop      Swift layer   ratio")
for operation in ["publish", "consume"] {
    let bareRate = median(results["bare \(operation)"]!)
    let swiftRate = median(results["swift \(operation)"]!)
    let label = operation.padding(toLength: 12, withPad: " ", startingAt: 0)
    print(
        label + String(format: " %10.0f msg/s %10.0f msg/s   %5.1f%%", bareRate, swiftRate, 100 * swiftRate / bareRate))
}
