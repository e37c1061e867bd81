import Batch
import BatchFiles
import BatchPostgres
import Foundation

/// `import-orders`: loads a day's orders from a CSV file into the shop's database and totals them per customer.
///
/// 1. `create-tables` creates the shop's tables when missing (again on every restart: a set-up step);
/// 2. `generate-orders` writes the day's file into the data directory when it is not there yet;
/// 3. `load-orders` reads the file in chunks of 1,000 orders, leaves cancelled orders out, and inserts the rest,
///    skipping (and recording) malformed lines, up to 100;
/// 4. `customer-totals` totals the day's orders per customer in 4 partitions of customer ranges, in parallel.
///
/// Start it with `{"date": "2026-11-25"}`; `orders` (how many to generate) and `throttleMs` (a pause after each
/// chunk) are optional and do not identify the instance.
let importOrders = Job("import-orders", parameters: ImportOrdersParameters.self) {
    Step("create-tables") { context in
        let shop = try await context.resource(ShopDatabase.self)
        try await shop.createTables()
    }
    .allowStartIfComplete()

    Step("generate-orders") { context in
        let parameters = try context.parameters(as: ImportOrdersParameters.self)
        let file = try OrdersFile(for: parameters.date, in: try await context.dataDirectory)
        if file.exists {
            context.logger.info("orders file found", metadata: ["file": "\(file.path)"])
        } else {
            try file.generate(orders: parameters.orderCount, day: parameters.date)
            context.logger.info("orders file written", metadata: ["file": "\(file.path)"])
        }
    }

    ChunkStep(
        "load-orders", chunkSize: 1_000,
        reader: { context in
            let parameters = try context.parameters(as: ImportOrdersParameters.self)
            let file = try OrdersFile(for: parameters.date, in: try await context.dataDirectory)
            return CSVReader<OrderLine>(path: file.path)
        },
        processor: { (line: OrderLine, context: StepContext) -> Order? in
            // Returning nil filters the order out: it is counted, not written.
            guard line.status == "paid" else { return nil }
            return Order(line, day: try context.parameters.day("date"))
        },
        writer: { context in
            // In the chunk's transaction when the job repository is PostgreSQL on the shop's database; on the
            // shop's pool otherwise (`run --in-memory`).
            let shop = try await context.resource(ShopDatabase.self)
            return try PostgresItemWriter<Order>(table: shop.ordersTable, naming: .snakeCase, pool: shop.pool)
        }
    )
    .skip(SkipPolicy(limit: 100) { ($0 as? BatchError)?.code == .malformedRecord })
    .recordSkippedItems { context in
        try PostgresSkippedItemRecorder(pool: try await context.resource(ShopDatabase.self).pool)
    }
    .listener(ChunkThrottle())

    PartitionStep(
        "customer-totals", partitions: 4, partitioner: CustomerRanges(),
        step: Step("total-customers") { context in
            let day = try context.parameters(as: ImportOrdersParameters.self).date
            guard let first = context.stepContext.int("firstCustomer"),
                let last = context.stepContext.int("lastCustomer")
            else { throw BatchError(.invalidState, "the partition's context lacks its customer range") }
            let shop = try await context.resource(ShopDatabase.self)
            let customers = try await shop.totalCustomers(first...last, on: day)
            context.stepContext["customers"] = .int(Int64(customers))
        }
    )
}
.nonIdentifying("orders", "throttleMs")
.validator(as: ImportOrdersParameters.self) { try $0.validate() }
.resource(ShopDatabase.self, make: Shop.open, close: { await $0.pool.shutdown() })
.listener(ImportReport())
