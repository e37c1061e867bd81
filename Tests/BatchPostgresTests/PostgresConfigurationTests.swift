import BatchPostgres
import Testing

@Suite struct PostgresConfigurationTests {
    @Test func parsesAFullURL() throws {
        let configuration = try PostgresConfiguration(
            url: "postgres://batch:s3cret@db.example.com:6543/jobs?sslmode=verify-full&connect_timeout=5")
        #expect(configuration.host == "db.example.com")
        #expect(configuration.port == 6543)
        #expect(configuration.user == "batch")
        #expect(configuration.password == "s3cret")
        #expect(configuration.database == "jobs")
        #expect(configuration.options == ["sslmode": "verify-full", "connect_timeout": "5"])
        #expect(configuration.schema == "batch")
    }

    @Test func percentDecodesEveryPart() throws {
        let configuration = try PostgresConfiguration(
            url: "postgresql://us%40er:p%3Aa%2Fss%40w%25rd@%2Fvar%2Frun%2Fpostgresql/my%20db?application_name=a%26b")
        #expect(configuration.user == "us@er")
        #expect(configuration.password == "p:a/ss@w%rd")
        #expect(configuration.host == "/var/run/postgresql")
        #expect(configuration.port == 5432)
        #expect(configuration.database == "my db")
        #expect(configuration.options["application_name"] == "a&b")
    }

    @Test func parsesIPv6AndDefaults() throws {
        let configuration = try PostgresConfiguration(url: "postgres://batch@[::1]:5433")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 5433)
        #expect(configuration.password == nil)
        #expect(configuration.database == "batch")
        let bare = try PostgresConfiguration(url: "postgres://batch@localhost/jobs")
        #expect(bare.host == "localhost")
        #expect(bare.port == 5432)
    }

    @Test func queryKeywordsOverrideTheURL() throws {
        let configuration = try PostgresConfiguration(
            url: "postgres://batch:x@ignored:1/db?host=/tmp&port=5999&dbname=other&password=y")
        #expect(configuration.host == "/tmp")
        #expect(configuration.port == 5999)
        #expect(configuration.database == "other")
        #expect(configuration.password == "y")
    }

    @Test(arguments: [
        "mysql://batch:pw@host/db", "postgres//batch@host/db", "postgres://batch:pw@host:99999/db",
        "postgres://batch:pw@host:abc/db", "postgres://:pw@host/db", "postgres://batch:pw@[::1/db",
    ])
    func refusesMalformedURLs(url: String) throws {
        let error = try #require(throws: PostgresError.self) { try PostgresConfiguration(url: url) }
        #expect(error.code == .invalidConfiguration)
        #expect(!error.message.contains("pw"))
    }

    @Test func neverShowsThePassword() throws {
        var configuration = try PostgresConfiguration(
            url: "postgres://batch:Hunter2-Secret@db:5432/jobs?sslmode=require&sslpassword=KeyPass-Secret")
        configuration.pool.size = 7
        let text = configuration.description
        #expect(!text.contains("Hunter2"))
        #expect(!text.contains("KeyPass"))
        #expect(text.contains("postgres://batch:***@db:5432/jobs"))
        #expect(text.contains("sslpassword=***"))
        #expect(text.contains("sslmode=require"))
        #expect(text.contains("pool 7"))
        #expect(!"\(configuration)".contains("Hunter2"))
        #expect(!String(reflecting: configuration.description).contains("Hunter2"))
    }

    @Test func thePasswordIsMaskedWhereItIsNotWhereverItsTextOccurs() throws {
        // A one-letter password: every x in the URL stays an x.
        let short = try PostgresConfiguration(url: "postgres://xavier:x@box.example:5432/xdb?application_name=xyz")
        #expect(
            short.description
                == "postgres://xavier:***@box.example:5432/xdb?application_name=xyz (schema batch, pool 4)")
        // A password equal to the user name: the user name is shown, and nothing tells that the two are equal.
        let same = try PostgresConfiguration(url: "postgres://batch:batch@db/batch")
        #expect(same.description == "postgres://batch:***@db:5432/batch (schema batch, pool 4)")
        let other = try PostgresConfiguration(url: "postgres://batch:other@db/batch")
        #expect(other.description == same.description)
        // A password that appears as a word of the URL never appears where the password was.
        let long = try PostgresConfiguration(url: "postgres://u:Zebra-Secret-77@db/jobs")
        #expect(!long.description.contains("Zebra"))
        #expect(!String(reflecting: long).contains("Zebra"))
        var dumped = ""
        dump(long, to: &dumped)
        #expect(!dumped.contains("Zebra"))
        #expect(dumped.contains("***"))
    }

    @Test func aForgottenHostDoesNotEchoThePasswordAsAPort() throws {
        let error = try #require(throws: PostgresError.self) {
            try PostgresConfiguration(url: "postgres://batch:Hunter2-Secret")
        }
        #expect(error.code == .invalidConfiguration)
        #expect(!error.description.contains("Hunter2"))
    }

    @Test(
        "a password with a raw '/', '?' or '#' is refused without echoing any of it",
        arguments: [
            "postgres://batch:2024/Winter@db:5432/jobs", "postgres://batch:x?Winter@db/jobs",
            // An '@' before the '/' as well: the URL must not be split at that '/' into host 'ss' and a path.
            "postgres://batch:P@ss/Winter@db:5432/jobs", "postgres://batch:P@ss?Winter@db/jobs",
        ])
    func aPasswordWithARawDelimiterIsNotEchoed(url: String) throws {
        let error = try #require(throws: PostgresError.self) { try PostgresConfiguration(url: url) }
        #expect(error.code == .invalidConfiguration)
        #expect(!error.description.contains("Winter"), "\(error)")
    }

    @Test func refusesABadlyEncodedPasswordWithoutEchoingIt() throws {
        let error = try #require(throws: PostgresError.self) {
            try PostgresConfiguration(url: "postgres://batch:bad%zzSecret@db/jobs")
        }
        #expect(!error.message.contains("Secret"))
        #expect(!error.description.contains("Secret"))
    }

    @Test func readsKeywords() throws {
        let configuration = try PostgresConfiguration(keywords: [
            "host": "10.0.0.5", "port": "6000", "user": "u", "password": "p", "dbname": "d", "sslmode": "disable",
        ])
        #expect(configuration.host == "10.0.0.5")
        #expect(configuration.port == 6000)
        #expect(configuration.user == "u")
        #expect(configuration.password == "p")
        #expect(configuration.database == "d")
        #expect(configuration.options == ["sslmode": "disable"])
        #expect(throws: PostgresError.self) { try PostgresConfiguration(keywords: ["host": "x"]) }
    }

    @Test func readsTheEnvironment() throws {
        let environment = [
            "BATCH_DATABASE_URL": "postgres://batch:batch@127.0.0.1:5432/batch", "BATCH_DATABASE_SCHEMA": "jobs",
            "BATCH_DATABASE_POOL_SIZE": "9",
        ]
        let configuration = try #require(try PostgresConfiguration.fromEnvironment(environment: environment))
        #expect(configuration.database == "batch")
        #expect(configuration.schema == "jobs")
        #expect(configuration.pool.size == 9)
        #expect(try PostgresConfiguration.fromEnvironment(environment: [:]) == nil)
        let error = try #require(throws: PostgresError.self) {
            try PostgresConfiguration.fromEnvironment(environment: ["BATCH_DATABASE_URL": "nope"])
        }
        #expect(error.message.hasPrefix("BATCH_DATABASE_URL"))
    }

    @Test func backoffGrowsAndIsBounded() {
        let policy = PostgresConfiguration.ReconnectPolicy(
            maxAttempts: 10, initialDelay: .milliseconds(100), maxDelay: .seconds(1))
        #expect(policy.delay(beforeAttempt: 1) == .zero)
        #expect(policy.delay(beforeAttempt: 2) == .milliseconds(100))
        #expect(policy.delay(beforeAttempt: 3) == .milliseconds(200))
        #expect(policy.delay(beforeAttempt: 5) == .milliseconds(800))
        #expect(policy.delay(beforeAttempt: 6) == .seconds(1))
        #expect(policy.delay(beforeAttempt: 10) == .seconds(1))
    }
}
