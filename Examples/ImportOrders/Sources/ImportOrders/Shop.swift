import Batch
import BatchPostgres
import Foundation
import Logging

/// The shop's own database, where the imported orders and the customer totals go: an application resource the
/// steps read from their context (`context.resource(ShopDatabase.self)`), not the job repository.
enum ShopDatabase: ResourceKey {
    typealias Value = Shop
}

/// A connection pool to the shop's database and the schema of its tables.
///
/// The shop's tables live in the job repository's database, in a schema of their own, so the orders are written
/// inside each chunk's transaction (they commit with the job's progress). With `run --in-memory` the load writes
/// on this pool instead, each chunk in a transaction of its own.
struct Shop: Sendable {
    let pool: PostgresConnectionPool
    /// The schema of the shop's tables: `SHOP_SCHEMA`, default `shop`.
    let schema: String

    var ordersTable: String { "\(schema).orders" }
    var customerTotalsTable: String { "\(schema).customer_totals" }

    /// Opens a pool to `BATCH_DATABASE_URL` (the local default when it is unset).
    @Sendable static func open() throws -> Shop {
        let environment = ProcessInfo.processInfo.environment
        let configuration =
            try PostgresConfiguration.fromEnvironment()
            ?? PostgresConfiguration(url: "postgres://batch:batch@127.0.0.1:5432/batch")
        let schema = environment["SHOP_SCHEMA"].flatMap { $0.isEmpty ? nil : $0 } ?? "shop"
        // The schema name goes into DDL: only a plain lower-case identifier is accepted.
        guard schema.count <= 63, schema.first?.isLetter == true,
            schema.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" })
        else {
            throw BatchError(.invalidDefinition, "SHOP_SCHEMA must be a lower-case identifier, not '\(schema)'")
        }
        return Shop(
            pool: PostgresConnectionPool(configuration: configuration, logger: Logger(label: "shop")), schema: schema)
    }

    /// Creates the schema and its tables when they are missing.
    func createTables() async throws {
        try await pool.withConnection { connection in
            try await connection.withTransaction { connection in
                // Two jobs setting up at once wait for each other here.
                _ = try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtext($1))", [.text("\(schema).tables")])
                _ = try await connection.query("CREATE SCHEMA IF NOT EXISTS \(schema)")
                _ = try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS \(ordersTable) (
                        day date NOT NULL, order_id bigint NOT NULL, customer_id integer NOT NULL,
                        amount numeric(12, 2) NOT NULL, PRIMARY KEY (day, order_id))
                    """)
                _ = try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS \(customerTotalsTable) (
                        day date NOT NULL, customer_id integer NOT NULL, orders integer NOT NULL,
                        amount numeric(14, 2) NOT NULL, PRIMARY KEY (day, customer_id))
                    """)
            }
        }
    }

    /// Adds up the orders of `day` per customer, for the customers `customers`, into the customer totals
    /// (replacing what an earlier run stored). Returns the number of customers.
    func totalCustomers(_ customers: ClosedRange<Int>, on day: CalendarDay) async throws -> Int {
        try await pool.withConnection { connection in
            try await connection.query(
                """
                INSERT INTO \(customerTotalsTable) (day, customer_id, orders, amount)
                SELECT day, customer_id, count(*), sum(amount) FROM \(ordersTable)
                 WHERE day = $1::date AND customer_id BETWEEN $2 AND $3
                 GROUP BY day, customer_id
                ON CONFLICT (day, customer_id) DO UPDATE SET orders = EXCLUDED.orders, amount = EXCLUDED.amount
                """, [.text("\(day)"), .int(Int64(customers.lowerBound)), .int(Int64(customers.upperBound))]
            ).affectedRows
        }
    }

    /// The number of orders and of customers stored for `day`.
    func counts(on day: CalendarDay) async throws -> (orders: Int64, customers: Int64) {
        let row = try await pool.withConnection { connection in
            try await connection.query(
                """
                SELECT (SELECT count(*) FROM \(ordersTable) WHERE day = $1::date) AS orders,
                       (SELECT count(*) FROM \(customerTotalsTable) WHERE day = $1::date) AS customers
                """, [.text("\(day)")]
            ).single()
        }
        return (try row.decode("orders"), try row.decode("customers"))
    }
}
