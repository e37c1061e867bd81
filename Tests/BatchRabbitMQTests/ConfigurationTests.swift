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
        #expect(configuration.description == "amqp://user:***@h:5672/v")
    }

    @Test func thePasswordIsMaskedWhereItIsNotWhereverItsTextOccurs() throws {
        // A one-letter password: every x of the user, host and virtual host stays.
        let short = try AMQPConfiguration(url: "amqp://xavier:x@box.example:5672/xvhost")
        #expect(short.description == "amqp://xavier:***@box.example:5672/xvhost")
        // A password equal to the user name: the user name is shown, and nothing tells that the two are equal.
        let same = try AMQPConfiguration(url: "amqp://guest:guest@h:5672/v")
        let other = try AMQPConfiguration(url: "amqp://guest:other@h:5672/v")
        #expect(same.description == "amqp://guest:***@h:5672/v")
        #expect(same.description == other.description)
        #expect(same.debugDescription == "AMQPConfiguration(amqp://guest:***@h:5672/v)")
    }

    @Test func aForgottenHostDoesNotEchoThePasswordAsAPort() {
        let error = #expect(throws: AMQPError.self) { try AMQPConfiguration(url: "amqp://user:Hunter2-Secret") }
        #expect(error?.message.contains("Hunter2") == false)
        #expect(error.map { "\($0)" }?.contains("Hunter2") == false)
    }

    @Test(
        "a password with a raw '/', '?' or '#' is refused without echoing any of it",
        arguments: [
            "amqp://batch:2024/Winter@rabbit:5672/%2f", "amqp://batch:2024/Winter@rabbit:5672",
            "amqp://batch:pa?Winter@rabbit/%2f", "amqps://batch:7/Winter@rabbit",
            "amqp://batch:P@ss/Winter@rabbit:5672/%2f", "amqp://batch:P@ss?Winter@rabbit",
        ])
    func aPasswordWithARawDelimiterIsNotEchoed(url: String) {
        let error = #expect(throws: AMQPError.self) { try AMQPConfiguration(url: url) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error.map { !$0.description.contains("Winter") } == true, "\(String(describing: error))")
    }

    @Test func backoffGrowsToItsCapWithJitter() {
        let policy = AMQPConfiguration.Reconnect(
            initialDelay: .milliseconds(100), maximumDelay: .seconds(2), jitter: 0.2)
        let backoff = Backoff(policy)
        var random = SystemRandomNumberGenerator()
        let first = backoff.delay(attempt: 0, using: &random)
        #expect(first >= .milliseconds(80) && first <= .milliseconds(120))
        let late = backoff.delay(attempt: 30, using: &random)
        #expect(late >= .milliseconds(1600) && late <= .milliseconds(2400))
    }
}
