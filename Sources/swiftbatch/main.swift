import BatchWorker

await SwiftBatch.main(jobs: DemoJobs.all)
