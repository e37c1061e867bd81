import Foundation
import Testing

@testable import BatchRabbitMQ

@Suite struct ConfigurationTests {
    @Test func parsesAFullURLWithPercentDecoding() throws {
        let configuration = try AMQPConfiguration(
            url: "amqp://us%40er:p%3Ass%2Fw@broker.local:5673/my%2Fvhost?heartbeat=10")
        #expect(configuration.host == "broker.local")
        #expect(configuration.port == 5673)
        #expect(configuration.username == "us@er")
        #expect(configuration.password == "p:ss/w")
        #expect(configuration.virtualHost == "my/vhost")
        #expect(configuration.heartbeat == .seconds(10))
        #expect(configuration.tls == nil)
    }

    @Test func appliesDefaults() throws {
        let configuration = try AMQPConfiguration(url: "amqp://localhost")
        #expect(configuration.port == 5672)
        #expect(configuration.virtualHost == "/")
        #expect(configuration.username == "guest")
        #expect(configuration.heartbeat == .seconds(30))
        #expect(try AMQPConfiguration(url: "amqp://h/%2f").virtualHost == "/")
        #expect(try AMQPConfiguration(url: "amqp://h/").virtualHost == "/")
        #expect(try AMQPConfiguration(url: "amqp://[::1]:5680/v").host == "::1")
    }

    @Test func amqpsTurnsOnVerifiedTLS() throws {
        let configuration = try AMQPConfiguration(url: "amqps://u:p@h/v?cacertfile=%2Fetc%2Fca.pem")
        #expect(configuration.port == 5671)
        #expect(configuration.tls?.caFile == "/etc/ca.pem")
        #expect(configuration.tls?.verifyPeer == true)
        #expect(configuration.tls?.verifyHostname == true)
        #expect(try AMQPConfiguration(url: "amqps://h?verify=verify_none").tls?.verifyPeer == false)
    }

    @Test(arguments: [
        "http://h", "amqp://h:99999", "amqp://h:x", "amqp://h/a/b", "amqp://h?bogus=1", "amqp://h?cacertfile=x",
        "amqp://u:%zz@h",
    ])
    func rejectsMalformedURLs(url: String) {
        #expect(throws: AMQPError.self) { try AMQPConfiguration(url: url) }
    }

    @Test func readsTheEnvironment() throws {
        let configuration = try AMQPConfiguration.fromEnvironment(["BATCH_AMQP_URL": "amqp://a:b@10.1.2.3:1234/x"])
        #expect(configuration.host == "10.1.2.3")
        #expect(configuration.port == 1234)
        #expect(try AMQPConfiguration.fromEnvironment([:]).host == "127.0.0.1")
        let error = #expect(throws: AMQPError.self) {
            try AMQPConfiguration.fromEnvironment(["BATCH_AMQP_URL": "amqp://a:s3cret@h:bad"])
        }
        #expect(error?.message.contains("BATCH_AMQP_URL") == true)
        #expect(error?.message.contains("s3cret") == false)
    }

    @Test func neverShowsThePassword() throws {
        let configuration = try AMQPConfiguration(url: "amqp://user:hunter2-secret@h:5672/v")
        #expect(!configuration.description.contains("hunter2"))
        #expect(!configuration.debugDescription.contains("hunter2"))
        #expect(!String(reflecting: configuration).contains("hunter2"))
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(configuration.description == "amqp://user@h:5672/v")
    }

    @Test func backoffGrowsToItsCapWithJitter() {
        let policy = AMQPConfiguration.Reconnect(
            initialDelay: .milliseconds(100), maximumDelay: .seconds(2), jitter: 0.2)
        let first = policy.delay(attempt: 0)
        #expect(first >= .milliseconds(80) && first <= .milliseconds(120))
        let late = policy.delay(attempt: 30)
        #expect(late >= .milliseconds(1600) && late <= .milliseconds(2400))
    }
}
