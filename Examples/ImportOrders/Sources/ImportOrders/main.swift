import BatchWorker

// The whole command line for this application's jobs: `worker`, `start`, `stop`, `restart`, `run`, `executions`,
// `execution`, `migrate`, `jobs`, ... (`import-orders --help`).
await SwiftBatch.main(jobs: [importOrders], name: "import-orders")
