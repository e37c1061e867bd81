import BatchRabbitMQ
import InMemoryTracing
import Testing
import Tracing

/// Commands and partitions carry the sender's trace context in their headers, and only a sane one is read back.
@Suite(.tags(.broker)) struct MessageTraceContextTests {
    @Test func partitionsAndCommandsSentInASpanCarryItsTraceAndNoneOutsideOne() async throws {
        try await TestBroker.withMessaging { plain in
            let tracer = InMemoryTracer()
            let messaging = BatchMessaging(
                connection: plain.connection, topology: plain.topology, limits: plain.limits,
                logger: TestBroker.logger, instrument: tracer)
            let parent = try await tracer.withSpan("manager step") { span in
                try await messaging.sendPartitions([
                    .partition(executionId: 1, stepExecutionId: 2), .partition(executionId: 1, stepExecutionId: 3),
                ])
                try await messaging.send(.start("traced"))
                return try #require(span.context.inMemorySpanContext)
            }
            try await messaging.send(.start("untraced"))

            let partitions = try await messaging.connection.consume(queue: plain.topology.partitionsQueue, prefetch: 10)
            var received = 0
            for try await delivery in partitions {
                let carried = MessageTraceContext.extract(from: delivery.properties.headers, using: tracer)
                #expect(carried?.inMemorySpanContext?.traceID == parent.traceID)
                #expect(carried?.inMemorySpanContext?.spanID == parent.spanID, "the sender's span is the parent")
                try delivery.ack()
                received += 1
                if received == 2 { break }
            }
            let commands = try await messaging.connection.consume(queue: plain.topology.commandsQueue, prefetch: 10)
            var contexts: [String: InMemorySpanContext?] = [:]
            var carriesNone: [String: Bool] = [:]
            for try await delivery in commands {
                let name = try Command(decoding: delivery.body).target.description
                let extracted = MessageTraceContext.extract(from: delivery.properties.headers, using: tracer)
                contexts[name] = extracted?.inMemorySpanContext
                carriesNone[name] = extracted == nil
                try delivery.ack()
                if contexts.count == 2 { break }
            }
            #expect(contexts["job traced"]??.traceID == parent.traceID)
            #expect(contexts["job untraced"] == .some(nil), "no span, no trace context")
            #expect(
                carriesNone == ["job traced": false, "job untraced": true], "nothing extracted is nil, not top-level")
        }
    }

    @Test func anOversizedOrNonStringHeaderIsNotReadAsTraceContext() {
        let tracer = InMemoryTracer()
        let huge = String(repeating: "a", count: MessageTraceContext.maxValueLength + 1)
        let oversized: [String: AMQPFieldValue] = [
            InMemoryTracer.traceIDKey: .string(huge), InMemoryTracer.spanIDKey: .string("s"),
        ]
        #expect(MessageTraceContext.extract(from: [:], using: tracer) == nil)
        #expect(MessageTraceContext.extract(from: oversized, using: tracer) == nil)
        let wrongType: [String: AMQPFieldValue] = [
            InMemoryTracer.traceIDKey: .int(1), InMemoryTracer.spanIDKey: .int(2),
        ]
        #expect(MessageTraceContext.extract(from: wrongType, using: tracer) == nil)
        let fine: [String: AMQPFieldValue] = [
            InMemoryTracer.traceIDKey: .string("t"), InMemoryTracer.spanIDKey: .string("s"),
        ]
        #expect(MessageTraceContext.extract(from: fine, using: tracer)?.inMemorySpanContext?.traceID == "t")
    }
}
